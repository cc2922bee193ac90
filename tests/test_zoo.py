"""The bad-input zoo through the real command line: every bad file fails alone with its reason,
every readable file that is no form is skipped saying what it held, every good one comes out exactly
as it does on its own, and nothing stops the batch. The run has no network where `unshare --net` is
allowed (perfscan never downloads anything), and the zoo holds a link to the output folder ("results
next to the scans"), which must not bring the run's own page images back in as documents on the next
night.

Unreadable files: tests run as root in CI, and root reads a chmod 000 file. The run is started
under `setpriv --bounding-set -dac_override,-dac_read_search`, which keeps uid 0 but drops the two
capabilities that let root ignore file modes, so the chmod 000 file is really unreadable (as a
non-root user nothing is needed). If neither works the unreadable case is left out, visibly.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.batch.inputs import display_path
from tests.batchfiles import (
    BORN_DIGITAL,
    blank_scan_pdf,
    bomb_png,
    corrupt_xref,
    dpi_2400_pdf,
    drop_file_access_prefix,
    encrypted_pdf,
    fixture,
    image_bytes,
    input_snapshot,
    javascript_pdf,
    offline_prefix,
    page_pdf,
    photo_of_table,
    read_csv,
    record_count,
    rotated,
    run_cli,
    scan_pages,
    text_page_pdf,
    variant,
    with_javascript,
    zero_page_pdf,
)

pytestmark = pytest.mark.slow

# File name → words its failure message must contain (None: any reason, as long as it has one).
MUST_FAIL: dict[str, str | None] = {
    "empty.pdf": "empty",
    "truncated.pdf": None,
    "header_only.pdf": None,
    "encrypted_user_password.pdf": "encrypted",
    "zero_pages.pdf": None,
    "huge_page_200000pt.pdf": "pixels",
    "bomb_40000x40000.png": "too large",
    "scan_2400dpi.pdf": "pixels",
    "zip_renamed.pdf": "not a PDF",
    "html_saved_as.pdf": "not a PDF",
    "tiny_1x1.png": None,
    "self_loop.pdf": "symbolic link loop",
    "broken_link.pdf": "broken symbolic link",
    "named_pipe.pdf": "named pipe",
    "growing.pdf": "changed while it was being read",
    "locked_chmod_000.pdf": "permission denied",
}
# Readable, but not forms: file name → words their `skipped` message must contain.
MUST_BE_SKIPPED: dict[str, str] = {
    "blank_scan.pdf": "1 page, no table, no text",
    "encrypted_owner_only_no_copy.pdf": "1 page, no table, first text “Encrypted test page",  # opens: no user password
    "javascript_not_a_form.pdf": "1 page, no table",
    "letter_not_a_form.pdf": "1 page, no table, first text “Meeting minutes.",
}
# Good documents under hostile names or with harmless oddities: name → the fixture they are.
MUST_BE_CORRECT: dict[str, str] = {
    "with spaces in name.pdf": "u000_digital",
    "中文文件名 自评表.pdf": "p001_digital",
    "it's \"quoted\".pdf": "u000_digital",
    "new\nline.pdf": "p001_digital",
    "-rf --force.pdf": "u000_digital",
    "$(touch PWNED); `touch PWNED2` | x.pdf": "p001_digital",
    "<svg onload=alert(1)>.pdf": "u000_digital",
    "..\\..\\..\\windows\\system32\\evil.pdf": "p001_digital",  # a path climb, as a Windows share spells it
    "report\u202efdp.exe.pdf": "u000_digital",  # U+202E (right-to-left override): a viewer shows the rest reversed
    "javascript_openaction_form.pdf": "p001_digital",
    "corrupt_xref_rebuilt.pdf": "u000_digital",
}
# Readable, but not necessarily right: each must say what it is; if it says ok it must be right.
STATUS_WITH_REASON: dict[str, str] = {
    "rotated_90.pdf": "u000_digital",
    "rotated_180.pdf": "p001_digital",
    "rotated_270.pdf": "u000_digital",
    "photo_of_table.jpg": "u000_digital",
}
# Image files of u000_scan's pages: a lossless multi-page TIFF of the very pixels in the PDF reads
# exactly as the PDF does; page 1 as 16-bit grey and as CMYK must be read as that form's first page.
SCAN_IMAGES_LIKE_THE_PDF = {"scan_pages_lzw.tif": "u000_scan"}
SCAN_IMAGE_FIRST_PAGES = ("scan_16bit_grey.png", "scan_cmyk.jpg")
INVALID_UTF8 = b"latin1_caf\xe9.pdf"  # a good u000 variant whose name is not UTF-8


def build_zoo(root: Path, unreadable: bool) -> Path:
    zoo = root / "in"
    zoo.mkdir()
    u, p = fixture("u000_digital").read_bytes(), fixture("p001_digital").read_bytes()
    files = {
        "empty.pdf": b"",
        "truncated.pdf": u[: len(u) * 6 // 10],
        "header_only.pdf": b"%PDF-1.7\n",
        "encrypted_user_password.pdf": encrypted_pdf("secret"),
        "encrypted_owner_only_no_copy.pdf": encrypted_pdf(""),
        "zero_pages.pdf": zero_page_pdf(),
        "huge_page_200000pt.pdf": page_pdf("0 0 200000 200000"),
        "bomb_40000x40000.png": bomb_png(),
        "scan_2400dpi.pdf": dpi_2400_pdf(),
        "zip_renamed.pdf": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + os.urandom(200),
        "html_saved_as.pdf": b"<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table></body></html>",
        "blank_scan.pdf": blank_scan_pdf(),
        "tiny_1x1.png": bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"),
        "javascript_not_a_form.pdf": javascript_pdf(),
        "letter_not_a_form.pdf": text_page_pdf(),
        "javascript_openaction_form.pdf": with_javascript(p),
        "corrupt_xref_rebuilt.pdf": corrupt_xref(u),
        "rotated_90.pdf": rotated(u, 90),
        "rotated_180.pdf": rotated(p, 180),
        "rotated_270.pdf": rotated(u, 270),
        "photo_of_table.jpg": photo_of_table(fixture("u000_digital")),
    }
    pages = scan_pages(fixture("u000_scan"))
    files["scan_pages_lzw.tif"] = image_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:],
                                              dpi=(200, 200), compression="tiff_lzw")
    grey16 = Image.fromarray(np.asarray(pages[0].convert("L")).astype(np.uint16) * 257)
    files["scan_16bit_grey.png"] = image_bytes(grey16, "PNG", dpi=(200, 200))
    files["scan_cmyk.jpg"] = image_bytes(pages[0].convert("CMYK"), "JPEG", quality=95, dpi=(200, 200))
    for name, data in files.items():
        (zoo / name).write_bytes(data)
    for i, (name, base) in enumerate(MUST_BE_CORRECT.items()):
        if not (zoo / name).exists():
            variant(fixture(base), zoo / name, f"name {i}")
    variant(fixture("u000_digital"), Path(os.fsdecode(os.fsencode(zoo) + b"/" + INVALID_UTF8)), "latin-1 name")
    # The same content under a second name (sorted after the first): processed once, reported.
    (zoo / "zz copy of spaces.pdf").write_bytes((zoo / "with spaces in name.pdf").read_bytes())
    (zoo / "sub").mkdir()
    os.symlink("..", zoo / "sub" / "loop_to_parent")  # a folder link back to an ancestor
    os.symlink(root / "out", zoo / "results")  # the output folder, from inside the inputs
    os.symlink("self_loop.pdf", zoo / "self_loop.pdf")
    os.symlink("does_not_exist.pdf", zoo / "broken_link.pdf")
    os.mkfifo(zoo / "named_pipe.pdf")
    (zoo / "growing.pdf").write_bytes(u)
    if unreadable:
        locked = variant(fixture("p001_digital"), zoo / "locked_chmod_000.pdf", "locked")
        locked.chmod(0)
    return zoo


def rows_without_ids(out: Path, doc_id: str) -> dict[str, list[dict[str, str]]]:
    """A document's rows in every table, minus the columns that name the file rather than describe it."""
    tables = {}
    for table in ("documents", "funding", "indicators", "facts", "findings", "corrections"):
        rows = [r for r in read_csv(out / f"{table}.csv") if r["doc_id"] == doc_id]
        tables[table] = [{k: v for k, v in r.items() if k not in ("doc_id", "source_path", "sha256")} for r in rows]
    return tables


class Grower(threading.Thread):
    """Appends to a file every few ms until stopped: a file being copied in while the batch runs."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.path.open("ab") as fh:
                fh.write(b"% more bytes arriving\n")
            time.sleep(0.01)


def test_zoo(tmp_path):
    prefix = drop_file_access_prefix()
    zoo = build_zoo(tmp_path, unreadable=prefix is not None)
    expected_failures = dict(MUST_FAIL)
    if prefix is None:
        del expected_failures["locked_chmod_000.pdf"]
        print("unreadable-file case left out: running as root without setpriv")
    offline = offline_prefix()
    if offline is None:
        print("run with the network: unshare --net is not allowed here")
    prefix = (*(offline or ()), *(prefix or ()))
    before = input_snapshot([p for p in zoo.rglob("*") if p.name != "growing.pdf"])

    reference = tmp_path / "reference"
    done = run_cli("run", *(fixture(n) for n in (*BORN_DIGITAL, "u000_scan")), "--out", reference, "--workers", "2")
    assert done.returncode == 0, done.stderr.decode()
    ref_ids = {Path(r["source_path"]).stem: r["doc_id"] for r in read_csv(reference / "documents.csv")}

    out = tmp_path / "out"
    grower = Grower(zoo / "growing.pdf")
    grower.start()
    try:
        done = run_cli("run", zoo, "--out", out, "--workers", "2", "--json-log", prefix=prefix)
    finally:
        grower.stop.set()
        grower.join()
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]  # every line is JSON
    assert events[-1]["event"] == "summary" and events[-1]["interrupted"] is False

    docs = {Path(r["source_path"]).name: r for r in read_csv(out / "documents.csv")}
    for name, words in expected_failures.items():
        row = docs[name]
        assert row["status"] == "failed", (name, row)
        assert row["message"].startswith(name + ": "), row["message"]
        assert words is None or words in row["message"], (name, row["message"])
    for name, words in MUST_BE_SKIPPED.items():
        row = docs[name]
        assert (row["status"], row["form_type"]) == ("skipped", "unknown"), (name, row)
        assert row["message"].startswith("not a form perfscan knows: ") and words in row["message"], row["message"]

    good = {**MUST_BE_CORRECT, **SCAN_IMAGES_LIKE_THE_PDF, "latin1_caf\\xe9.pdf": "u000_digital"}
    for name, base in good.items():
        row = docs[display_path(name)]  # shown escaped (\n, \u202e): one line per path in logs and CSVs
        assert row["status"] in ("ok", "needs_review"), (name, row)
        assert rows_without_ids(out, row["doc_id"]) == rows_without_ids(reference, ref_ids[base]), name
    for name in SCAN_IMAGE_FIRST_PAGES:
        row = docs[name]
        assert (row["status"], row["form_type"], row["pages"]) == ("needs_review", "unit_overall", "1"), row
    for name, base in STATUS_WITH_REASON.items():
        row = docs[name]
        if row["status"] == "ok":
            assert rows_without_ids(out, row["doc_id"]) == rows_without_ids(reference, ref_ids[base]), name
        else:
            assert row["message"], (name, row)

    duplicates = [e for e in events if e["event"] == "document" and e.get("action") == "duplicate"]
    assert [(Path(e["path"]).name, Path(e["duplicate_of"]).name) for e in duplicates] == [
        ("zz copy of spaces.pdf", "with spaces in name.pdf")]
    links = {Path(e["path"]).name: e for e in events if e["event"] == "link_skipped"}
    assert {name: e["level"] for name, e in links.items()} == {"loop_to_parent": "warning", "results": "warning"}
    assert "link loop" in links["loop_to_parent"]["reason"]
    assert "output folder" in links["results"]["reason"]

    # One record and one documents.csv row per distinct input; nothing reached a shell.
    assert len(docs) == record_count(out)
    assert len(docs) == (len(expected_failures) + len(MUST_BE_SKIPPED) + len(good) + len(SCAN_IMAGE_FIRST_PAGES)
                         + len(STATUS_WITH_REASON))
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))
    assert input_snapshot([Path(p) for p in before]) == before  # no input was modified

    # Next night: what failed for the file's own reasons stays failed without being redone; what
    # failed because of the moment (a file being written) is tried again, and now it is complete.
    again = run_cli("run", zoo, "--out", out, "--workers", "2", "--json-log", prefix=prefix)
    assert again.returncode == 2
    redone = {Path(e["path"]).name for e in map(json.loads, again.stdout.decode().splitlines())
              if e["event"] == "document" and e.get("action") == "processed"}
    not_final = {Path(e["path"]).name for e in events
                 if e["event"] == "document" and e.get("action") == "processed" and e["failure"] not in ("", "input")}
    assert redone == not_final  # and none of the run's own page images, through results/
    assert len(read_csv(out / "documents.csv")) == len(docs)
    assert {"growing.pdf", "self_loop.pdf", "broken_link.pdf", "named_pipe.pdf"} <= not_final
    assert {r["status"] for r in read_csv(out / "documents.csv") if Path(r["source_path"]).name == "growing.pdf"} == {
        "ok"}
