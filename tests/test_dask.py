"""The Dask executor on a loopback LocalCluster: the same outputs, byte for byte, as local workers
(page images included), and the same isolation (a document that hangs on a Dask worker fails alone)."""

from __future__ import annotations

import time

import pytest

from pipeline.batch.command import Command
from pipeline.batch.inputs import TEXT_EXTRACTIONS
from pipeline.batch.pool import close_local_pools
from pipeline.batch.run import run_batch
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.outputs.export import CSV_COLUMNS
from tests.batchfiles import BORN_DIGITAL, PAGES, fixture, output_files, read_csv, text_form, write_text_forms

distributed = pytest.importorskip("distributed")


@pytest.fixture
def scheduler():
    """A scheduler and one in-process Dask worker with two task threads, on 127.0.0.1 only."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address
    close_local_pools()


def test_dask_writes_the_same_bytes_as_local_workers(tmp_path, scheduler):
    docs = [str(fixture(name)) for name in BORN_DIGITAL]
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(["run", *docs, "--out", str(local), "--workers", "2"]) == 0
    assert main(["run", *docs, "--out", str(dask), "--executor", "dask", "--scheduler", scheduler]) == 0
    for name in CSV_COLUMNS:
        assert (dask / f"{name}.csv").read_bytes() == (local / f"{name}.csv").read_bytes(), name
    assert output_files(dask) == output_files(local)  # records and review pages too
    assert len(read_csv(dask / "documents.csv")) == len(BORN_DIGITAL)


def test_a_hang_on_a_dask_worker_fails_only_its_document(tmp_path, scheduler):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2)
    (inputs / "hang-1.txt").write_text(text_form("不会结束的单位"), encoding="utf-8")
    cfg = load_config(None, {"batch": {"executor": "dask", "scheduler": scheduler, "doc_timeout": 3}})
    start = time.monotonic()
    hostile = Command("hostile", "tests.batchfiles:hostile", "text", TEXT_EXTRACTIONS)
    summary = run_batch([inputs], tmp_path / "out", cfg, hostile)
    assert time.monotonic() - start < 60
    assert summary.failures == {"timeout": 1} and summary.statuses["ok"] == 2


def test_page_images_come_back_with_their_document_from_dask(tmp_path, scheduler):
    """On Dask the images travel inside the result; the folder ends up as a local run leaves it."""
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2)
    (inputs / "die-1.txt").write_text(text_form("半路死掉的单位"), encoding="utf-8")
    paged = Command("paged", "tests.batchfiles:paged", "text", TEXT_EXTRACTIONS)
    local, dask = tmp_path / "local", tmp_path / "dask"
    run_batch([inputs], local, load_config(None, {}), paged)
    run_batch([inputs], dask, load_config(None, {"batch": {"executor": "dask", "scheduler": scheduler}}), paged)
    pages = {name for name in output_files(local) if name.startswith("pages/")}
    assert len(pages) == 2 * PAGES  # the two good documents' pages, none of the one that died
    assert output_files(dask) == output_files(local)
