"""Page images stream from the workers into the output folder while their document runs.

Each is written at once under the name its record gives it, so the review page finds it; and none
is left that no record names — not after a failure, a timeout, a memory kill, a worker's death, an
interrupted run or a coordinator killed with SIGKILL. `batchfiles.paged` streams small JPEGs from
text forms (fast); one slow test runs a real two-page scan through OCR.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from pipeline.batch.command import Command, digitize, text_import
from pipeline.batch.inputs import TEXT_EXTRACTIONS
from pipeline.batch.run import run_batch
from pipeline.config import load_config
from tests.batchfiles import PAGES, REPO, fixture, page_jpeg, read_csv, text_form, write_text_forms

PAGED = Command("paged", "tests.batchfiles:paged", "text", TEXT_EXTRACTIONS)


def config(**batch):
    return load_config(None, {"batch": batch})


def named_pages(out: Path) -> set[str]:
    """Every page image the records in `out` name."""
    named: set[str] = set()
    for record in (out / "records").glob("*.json"):
        named |= set(json.loads(record.read_bytes())["page_images"].values())
    return named


def pages_on_disk(out: Path) -> set[str]:
    folder = out / "pages"
    return {f"pages/{p.name}" for p in folder.iterdir()} if folder.is_dir() else set()


def statuses(out: Path) -> dict[str, tuple[str, str]]:
    return {Path(r["source_path"]).name: (r["status"], r["message"]) for r in read_csv(out / "documents.csv")}


def test_pages_land_under_their_records_names_and_failed_documents_leave_none(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2, prefix="good")
    bad = ["die-1.txt", "hang-1.txt", "endless-1.txt", "hog-1.txt"]
    for i, name in enumerate(bad):
        (inputs / name).write_text(text_form(f"坏单位{i}"), encoding="utf-8")
    out = tmp_path / "out"
    start = time.monotonic()
    # `paged` says it has 3 pages: at 0.5 s a page they get no more than the 3 s of --doc-timeout.
    cfg = config(workers=2, doc_timeout=3, page_timeout=0.5, memory_limit_mb=400)
    summary = run_batch([inputs], out, cfg, PAGED)
    assert time.monotonic() - start < 60
    docs = statuses(out)
    assert docs["good-000.txt"][0] == docs["good-001.txt"][0] == "ok"
    assert "killed by SIGKILL" in docs["die-1.txt"][1]
    assert "longer than 3 s (--doc-timeout)" in docs["hang-1.txt"][1]
    # Still sending pages at its deadline, or past its ceiling: stopped all the same.
    assert "longer than 3 s (--doc-timeout)" in docs["endless-1.txt"][1]
    assert "over the memory limit of 400 MB" in docs["hog-1.txt"][1]
    assert summary.failures == {"crash": 1, "timeout": 2, "memory": 1}

    assert pages_on_disk(out) == named_pages(out)  # none left over from the failed four
    good = [r["doc_id"] for r in read_csv(out / "documents.csv") if r["status"] == "ok"]
    assert named_pages(out) == {f"pages/{d}-p{p}.jpg" for d in good for p in range(1, PAGES + 1)}
    for doc_id in good:
        for page in range(1, PAGES + 1):
            assert (out / "pages" / f"{doc_id}-p{page}.jpg").read_bytes() == page_jpeg(page)
    assert not list((out / "pages").glob(".*.tmp"))


def test_a_redone_document_keeps_only_the_pages_its_new_record_names(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 1)
    out = tmp_path / "out"
    run_batch([inputs], out, config(), PAGED)
    assert len(pages_on_disk(out)) == PAGES
    # Redone by a route that makes no page images (as a failed redo makes none): the old ones go.
    assert run_batch([inputs], out, config(), text_import(), force=True).processed == 1
    assert pages_on_disk(out) == named_pages(out) == set()


def _coordinator(inputs: Path, out: Path, force: bool = False) -> subprocess.Popen:
    """A batch with `paged` in its own process, so that it can be killed like a cron job."""
    code = ("import sys; from pathlib import Path; from pipeline.batch.command import Command; "
            "from pipeline.batch.run import run_batch; "
            "from pipeline.config import load_config; from pipeline.batch.inputs import TEXT_EXTRACTIONS; "
            "run_batch([Path(sys.argv[1])], Path(sys.argv[2]), load_config(None, {}), "
            "Command('paged', 'tests.batchfiles:paged', 'text', TEXT_EXTRACTIONS), force=sys.argv[3] == '1')")
    return subprocess.Popen([sys.executable, "-c", code, str(inputs), str(out), "1" if force else "0"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _first_page(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until the first page image of the run is staged."""
    deadline = time.monotonic() + timeout
    while not list((out / "pages").glob("*.staged.tmp")) if (out / "pages").is_dir() else True:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no page image arrived"
        time.sleep(0.05)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_run_stopped_mid_document_leaves_no_page_without_a_record(tmp_path, how):
    """`slow-` documents take a second a page; the run is stopped once the first page is written."""
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2, prefix="slow")
    out = tmp_path / "out"
    proc = _coordinator(inputs, out)
    _first_page(out, proc)
    proc.send_signal(how)
    proc.wait(timeout=30)
    if how == signal.SIGINT:  # an orderly stop cleans up at once
        assert pages_on_disk(out) == named_pages(out) == set()
    else:  # a killed run cannot: its staged pages are there, named by no record ...
        assert pages_on_disk(out) and not named_pages(out)
        assert all(name.endswith(".staged.tmp") for name in pages_on_disk(out))
    # ... until the next run, which removes them even though it makes no page images itself.
    assert run_batch([inputs], out, config(), text_import()).processed == 2
    assert pages_on_disk(out) == named_pages(out) == set()


def test_a_redo_killed_mid_document_leaves_the_old_record_and_its_pages_as_they_were(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 1, prefix="slow")
    out = tmp_path / "out"
    assert _coordinator(inputs, out).wait(timeout=60) == 0
    before = {name: (out / name).stat().st_ino for name in named_pages(out)}
    assert len(before) == PAGES
    proc = _coordinator(inputs, out, force=True)
    _first_page(out, proc)
    proc.kill()
    proc.wait(timeout=30)
    # The redo's pages were only staged: the old record's images are the very same files.
    assert {name: (out / name).stat().st_ino for name in named_pages(out)} == before


@pytest.mark.slow
def test_a_scanned_document_streams_its_pages_and_the_review_page_shows_crops(tmp_path):
    """u000_scan (two scanned pages) through real OCR; every cell below 0.999 is flagged, so the
    review page has crops to cut from the streamed page images."""
    out = tmp_path / "out"
    cfg = load_config(None, {"read": {"review_confidence": 0.999}})
    summary = run_batch([fixture("u000_scan")], out, cfg, digitize(cfg))
    assert summary.statuses["needs_review"] == 1
    (doc_id,) = [r["doc_id"] for r in read_csv(out / "documents.csv")]
    expected = {f"pages/{doc_id}-p{page}.jpg" for page in (1, 2)}
    assert pages_on_disk(out) == named_pages(out) == expected
    for name in expected:
        with Image.open(out / name) as image:
            assert image.format == "JPEG" and image.width > 1000
    page = (out / "review" / f"{doc_id}.html").read_text("utf-8")
    assert page.count("data:image/jpeg;base64,") > 10
    for p in (1, 2):
        assert f'src="../pages/{doc_id}-p{p}.jpg"' in (out / "review" / f"{doc_id}-p{p}.html").read_text("utf-8")
