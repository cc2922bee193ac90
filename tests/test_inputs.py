"""Discovery and identity of inputs: which files a run takes, which it refuses and why, and a content
hash that is reused only while the file provably has not changed. Real files in temporary folders."""

from __future__ import annotations

import os
import time

import pytest

from pipeline.batch.inputs import (
    InputTooBig,
    check_layout,
    discover,
    display_path,
    identify,
    path_key,
)
from pipeline.errors import UnreadableInput, UsageError

PDF_AND_IMAGES = frozenset({".pdf", ".png"})


def test_folders_give_their_documents_in_sorted_order_and_named_files_whatever_their_suffix(tmp_path):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    for name in ("b.pdf", "a.PNG", "notes.txt", "sub/c.pdf"):
        (inputs / name).write_bytes(b"x")
    named = tmp_path / "extraction.txt"
    named.write_text("x")
    found = discover([inputs, named, inputs / "b.pdf"], PDF_AND_IMAGES, tmp_path / "out")
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "in/a.PNG", "in/b.pdf", "in/sub/c.pdf", "extraction.txt"]  # b.pdf once
    assert found.not_taken == []


def test_links_that_loop_or_lead_into_the_output_folder_are_not_followed(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    (out / "pages").mkdir(parents=True)
    (out / "pages" / "p1.png").write_bytes(b"x")
    os.symlink(inputs, inputs / "loop")
    os.symlink(out, inputs / "outputs")
    found = discover([inputs], PDF_AND_IMAGES, out)
    assert found.files == []
    reasons = {n.path.name: n.reason for n in found.not_taken}
    assert reasons["loop"].startswith("link loop") and "output folder" in reasons["outputs"]
    assert all(n.link for n in found.not_taken)


def test_an_output_folder_inside_the_inputs_and_inputs_inside_it_are_refused(tmp_path):
    with pytest.raises(UsageError, match="inside the input folder"):
        check_layout([tmp_path], tmp_path / "out")
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError, match="inside the output folder"):
        check_layout([tmp_path / "out" / "x.pdf"], tmp_path / "out")
    check_layout([tmp_path / "in"], tmp_path / "out")


def test_identity_is_the_content_hash_reused_only_while_the_file_is_unchanged(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"first")
    first = identify(path, None)
    assert first.sha256 == "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e"  # sha256(b"first")
    settled = first.source_row(path)
    assert settled.path == path_key(path)
    old = settled.__class__(settled.path, "cached", settled.signature, first.signature.mtime_ns + 3_000_000_000)
    assert identify(path, old).sha256 == "cached"  # stat unchanged, hashed well after its last write
    assert identify(path, old, force=True).sha256 == first.sha256
    path.write_bytes(b"second!")
    assert identify(path, old).sha256 != "cached"


def test_unreadable_and_too_big_inputs_say_why(tmp_path):
    with pytest.raises(UnreadableInput, match="cannot open|No such"):
        identify(tmp_path / "missing.pdf", None)
    os.symlink(tmp_path / "nowhere.pdf", tmp_path / "broken.pdf")
    with pytest.raises(UnreadableInput, match="broken symbolic link"):
        identify(tmp_path / "broken.pdf", None)
    with pytest.raises(UnreadableInput, match="not a regular file"):
        identify(tmp_path, None)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(InputTooBig, match="over the size limit"):
        identify(big, None, max_size=1024)


def test_display_path_is_one_printable_line():
    assert display_path("/in/自评表.pdf") == "/in/自评表.pdf"
    assert display_path(os.fsdecode(b"/in/bad\xff\nname.pdf")) == "/in/bad\\xff\\nname.pdf"


def test_a_freshly_written_files_hash_is_not_trusted(tmp_path):
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x")
    fresh = identify(path, None)
    racy = fresh.source_row(path).__class__(path_key(path), "cached", fresh.signature, time.time_ns())
    assert identify(path, racy).sha256 == fresh.sha256  # hashed within the timestamp tick: hashed again
