"""Faults a hostile folder tree or a sick machine brings, injected one at a time: a link into the
output folder, a damaged output folder, a document that is always too slow, a huge file, a full
or read-only disk. Each must end in words an operator understands and the contract's exit code,
never a traceback, and lose nothing a re-run cannot finish.

Like the zoo beside it, the faults are made for real where the machine allows (a tmpfs that fills
up, a read-only bind mount, inside a private mount namespace); process functions that misbehave
come from `batchfiles`, so production code carries no test hooks.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pipeline.batch.commit
from pipeline.batch.command import Command
from pipeline.batch.executors import LocalExecutor
from pipeline.batch.inputs import TEXT_EXTRACTIONS
from pipeline.batch.pool import Limits
from pipeline.batch.run import run_batch
from pipeline.batch.tasks import Task
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import OutputFolderError
from tests.batchfiles import (
    INDICATORS_PER_FORM,
    REPO,
    copy_protected,
    fixture,
    output_files,
    private_mount_prefix,
    read_csv,
    record_count,
    run_cli,
    text_form,
    write_text_forms,
)


def config(**batch):
    return load_config(None, {"batch": batch})


# `paged` makes three page images per document, as a scan does; taking .jpg files as inputs too, a
# run would read its own page images back if discovery ever entered the output folder.
PAGED_AND_JPEG = Command("paged", "tests.batchfiles:paged", "text", TEXT_EXTRACTIONS | {".jpg"})


def test_a_link_to_the_output_folder_is_not_followed(tmp_path):
    inputs = tmp_path / "scans"
    write_text_forms(inputs, 1)
    out = tmp_path / "out"
    (inputs / "results").symlink_to(out, target_is_directory=True)  # "results next to the scans"
    (inputs / "deeper").mkdir()
    (inputs / "deeper" / "up").symlink_to(tmp_path, target_is_directory=True)  # reaches out/ from above
    for night in range(3):
        summary = run_batch([inputs], out, config(), PAGED_AND_JPEG)
        assert [r["source_path"] for r in read_csv(out / "documents.csv")] == [str(inputs / "form-000.txt")], night
        assert summary.processed == (1 if night == 0 else 0), night
        assert summary.links_skipped == 3, night  # results/, deeper/up/out/ and the loop deeper/up/scans/
    assert len(read_csv(out / "indicators.csv")) == INDICATORS_PER_FORM
    assert record_count(out) == 1


def _events(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_damaged_record_is_set_aside_and_its_document_done_again(tmp_path, capsys):
    inputs = tmp_path / "in"
    first, _ = write_text_forms(inputs, 2)
    out = tmp_path / "out"
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    (record,) = [p for p in (out / "records").glob("*.json") if first.name in p.read_text(encoding="utf-8")]
    truncated = record.read_bytes()[:200]  # a full disk, a bad copy
    record.write_bytes(truncated)
    write_text_forms(inputs, 3)  # one more document tonight, so the tables are rebuilt
    capsys.readouterr()

    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 0
    events = _events(capsys)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["processed"] == 2  # the new one and the damaged one
    (aside,) = (out / "quarantine").iterdir()
    assert aside.read_bytes() == truncated
    assert summary["quarantined"] == [f"records/{record.name} → quarantine/{aside.name}"]
    assert [e["level"] for e in events if e["event"] == "quarantined"] == ["warning"]
    assert sorted(r["source_path"] for r in read_csv(out / "documents.csv")) == sorted(map(str, inputs.iterdir()))
    assert len(read_csv(out / "indicators.csv")) == 3 * INDICATORS_PER_FORM
    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 0
    assert _events(capsys)[-1]["already_done"] == 3


def test_a_garbage_state_database_is_set_aside_and_the_documents_done_again(tmp_path, capsys):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2)
    out = tmp_path / "out"
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    expected = output_files(out)
    (out / "state.sqlite").write_bytes(b"\x00garbage" * 1000)
    capsys.readouterr()

    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 0
    summary = _events(capsys)[-1]
    assert summary["event"] == "summary" and summary["processed"] == 2
    (aside,) = (out / "quarantine").glob("state.sqlite.*")
    assert aside.read_bytes() == b"\x00garbage" * 1000
    assert summary["quarantined"] == [f"state.sqlite → quarantine/{aside.name}"]
    assert {k: v for k, v in output_files(out).items() if not k.startswith("quarantine/")} == expected


def _in_private_mounts(tmp_path: Path, script: str, **env: Path) -> None:
    """`script` (sh) in a private mount namespace, with `env` and the Python running the tests as $PY."""
    scratch = tmp_path / "probe"
    scratch.mkdir()
    prefix = private_mount_prefix(scratch)
    if prefix is None:
        pytest.skip("no private mount namespace here (unshare as root or in a user namespace): cannot make the fault")
    variables = {**os.environ, "PY": sys.executable, **{k: str(v) for k, v in env.items()}}
    subprocess.run([*prefix, "sh", "-c", script], env=variables, cwd=REPO, check=True, timeout=600)


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_full_disk_is_named_ends_with_the_summary_and_a_rerun_finishes(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 30)
    reference = tmp_path / "reference"
    assert run_cli("import-text", inputs, "--out", reference).returncode == 0
    out, logs = tmp_path / "out", tmp_path / "logs"
    out.mkdir()
    logs.mkdir()
    # A 384 KB disk holds about a dozen of the 30 records; then 16 MB, as when someone frees space.
    _in_private_mounts(tmp_path, """
        mount -t tmpfs -o size=384k tmpfs "$OUT"
        "$PY" -m pipeline.cli import-text "$IN" --out "$OUT" --json-log >"$LOGS/full.out" 2>"$LOGS/full.err"
        echo $? >"$LOGS/full.rc"
        mount -o remount,size=16m "$OUT"
        "$PY" -m pipeline.cli import-text "$IN" --out "$OUT" --json-log >"$LOGS/freed.out" 2>"$LOGS/freed.err"
        echo $? >"$LOGS/freed.rc"
        cp -a "$OUT/." "$LOGS/out"
    """, OUT=out, IN=inputs, LOGS=logs)

    assert (logs / "full.rc").read_text().strip() == "2", (logs / "full.err").read_text()
    assert "Traceback" not in (logs / "full.err").read_text()
    events = _json_lines(logs / "full.out")
    summary, last = events[-2], events[-1]
    assert summary["event"] == "summary" and summary["stopped"] == "the output folder's disk is full"
    assert summary["processed"] >= 1 and summary["not_written"] >= 1
    assert summary["processed"] + summary["not_written"] == 30
    assert last["event"] == "exit" and last["exit_code"] == 2 and "disk is full" in last["message"]
    assert not [e for e in events if e["event"] == "document" and e["status"] == "failed"]  # none blamed

    assert (logs / "freed.rc").read_text().strip() == "0", (logs / "freed.err").read_text()
    assert _json_lines(logs / "freed.out")[-1]["processed"] == summary["not_written"]
    assert output_files(logs / "out") == output_files(reference)  # nothing lost, nothing twice


def test_a_read_only_output_folder_is_named_and_refused_with_exit_1(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 1)
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_cli("import-text", inputs, "--out", out).returncode == 0
    write_text_forms(inputs, 2)  # work to do tonight
    logs.mkdir()
    before = output_files(out)
    _in_private_mounts(tmp_path, """
        mount --bind "$OUT" "$OUT" && mount -o remount,bind,ro "$OUT"
        "$PY" -m pipeline.cli import-text "$IN" --out "$OUT" --json-log >"$LOGS/ro.out" 2>"$LOGS/ro.err"
        echo $? >"$LOGS/ro.rc"
    """, OUT=out, IN=inputs, LOGS=logs)
    assert (logs / "ro.rc").read_text().strip() == "1", (logs / "ro.err").read_text()
    assert "Traceback" not in (logs / "ro.err").read_text()
    (last,) = _json_lines(logs / "ro.out")
    assert last["event"] == "exit" and last["exit_code"] == 1
    assert "the output folder is read-only" in last["message"]
    assert output_files(out) == before


def test_a_full_disk_while_page_images_arrive_stops_the_run_and_blames_no_document(tmp_path, monkeypatch):
    """The disk fills while a worker streams page images (written on an executor thread): the run
    stops as for a full disk, instead of failing documents as "internal error in the worker pool"."""
    inputs = tmp_path / "in"
    write_text_forms(inputs, 4)
    reference = tmp_path / "reference"
    run_batch([inputs], reference, config(), PAGED_AND_JPEG)
    out = tmp_path / "out"
    written = []
    write = pipeline.batch.commit.atomic_write

    def filling_up(path: Path, data: bytes) -> None:
        if len(written) >= 5:  # the sixth page image: the first document's three went in
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        written.append(path)
        write(path, data)

    monkeypatch.setattr(pipeline.batch.commit, "atomic_write", filling_up)
    with pytest.raises(OutputFolderError, match="the output folder's disk is full"):
        run_batch([inputs], out, config(), PAGED_AND_JPEG)
    assert {r["status"] for r in read_csv(out / "documents.csv")} == {"ok"}
    monkeypatch.undo()
    again = run_batch([inputs], out, config(), PAGED_AND_JPEG)
    assert again.failed == 0 and again.processed + again.done_before == 4
    assert output_files(out) == output_files(reference)


HOSTILE = Command("hostile", "tests.batchfiles:hostile", "text", TEXT_EXTRACTIONS)


def test_a_long_document_gets_time_by_its_pages(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "slow-long.txt").write_text(text_form("慢单位"), encoding="utf-8")  # 3 pages, a second each
    out = tmp_path / "out"
    summary = run_batch([inputs], out, config(doc_timeout=1, page_timeout=2), PAGED_AND_JPEG)
    assert (summary.processed, summary.failed) == (1, 0)
    assert [r["status"] for r in read_csv(out / "documents.csv")] == ["ok"]


def test_a_document_out_of_time_twice_is_not_tried_again_until_asked(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "hang-always.txt").write_text(text_form("慢单位"), encoding="utf-8")
    write_text_forms(inputs, 1)
    out = tmp_path / "out"
    cfg = config(doc_timeout=1)
    nights = [run_batch([inputs], out, cfg, HOSTILE) for _ in range(3)]
    assert [n.failures["timeout"] for n in nights] == [1, 1, 0]  # the third night spends no time on it
    assert [n.failed for n in nights] == [1, 1, 1]  # it still stands failed: exit 2 every night
    assert [n.too_slow for n in nights] == [[], [str(inputs / "hang-always.txt")], [str(inputs / "hang-always.txt")]]
    (row,) = [r for r in read_csv(out / "documents.csv") if r["status"] == "failed"]
    assert "ran out of time 2 runs in a row" in row["message"] and "--retry-failed" in row["message"]
    capsys.readouterr()
    assert main(["import-text", str(inputs), "--out", str(out), "--doc-timeout", "1", "--json-log"]) == 2
    summary = _events(capsys)[-1]
    assert summary["processed"] == 0 and summary["too_slow"] == [str(inputs / "hang-always.txt")]
    retried = run_batch([inputs], out, cfg, HOSTILE, retry_failed=True)
    assert (retried.processed, retried.failures["timeout"]) == (1, 1)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 1)
    with (inputs / "huge.txt").open("wb") as fh:
        fh.truncate(20 * 2**30)  # 20 GB and sparse: minutes to hash, no disk used
    out = tmp_path / "out"
    start = time.monotonic()
    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 2  # default limit: 4 GB
    assert time.monotonic() - start < 10
    docs = {Path(r["source_path"]).name: r for r in read_csv(out / "documents.csv")}
    assert docs["form-000.txt"]["status"] == "ok"
    assert docs["huge.txt"]["status"] == "failed"
    assert docs["huge.txt"]["message"] == ("huge.txt: the file is 20 GB, over the size limit of 4 GB "
                                           "(--max-file-size); it was not read")
    assert _events(capsys)[-1]["failures"] == {"too_large": 1}


def test_the_worker_takes_the_coordinators_hash_and_reads_the_file_no_second_time(tmp_path):
    """Same size and mtime, other bytes: the worker cannot tell, because it does not hash the file
    again (for a 100 GB file that was minutes); the coordinator hashed it once for this run."""
    (path,) = write_text_forms(tmp_path / "in", 1)
    hashed = hashlib.sha256(path.read_bytes()).hexdigest()
    st = path.stat()
    path.write_text(text_form("测试单位999号", budget=1000), encoding="utf-8")
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    task = Task(path, hashed, st.st_size, st.st_mtime_ns, config(), "pipeline.document:import_text")
    executor = LocalExecutor(Limits(timeout=60, memory_bytes=0, max_docs=1, start_timeout=60, threads=1), 1)
    try:
        (outcome,) = executor.outcomes([task], lambda *page: None)
    finally:
        executor.close()
    assert outcome.failure is None, outcome.reason
    assert outcome.result.document.sha256 == hashed


@pytest.mark.slow
def test_a_pdf_that_forbids_copying_its_text_is_read_from_its_image(tmp_path):
    protected = tmp_path / "u000_no_copy.pdf"
    protected.write_bytes(copy_protected("u000_digital"))
    out = tmp_path / "out"
    done = run_cli("run", protected, fixture("u000_digital"), "--out", out)
    assert done.returncode == 0, done.stderr.decode()
    docs = {Path(r["source_path"]).name: r for r in read_csv(out / "documents.csv")}
    ours, twin = docs[protected.name], docs["u000_digital.pdf"]
    assert ours["status"] in ("ok", "needs_review") and ours["engine"] == "rapidocr", ours
    for column in ("form_type", "year", "unit_name", "pages", "total_max_score", "total_score", "grade"):
        assert ours[column] == twin[column], column

    def numbers(table: str, doc_id: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [tuple(r[c] for c in columns) for r in read_csv(out / f"{table}.csv") if r["doc_id"] == doc_id]

    figures = ("max_score", "score", "target_value", "actual_value")
    assert numbers("indicators", ours["doc_id"], figures) == numbers("indicators", twin["doc_id"], figures)
    money = ("item", "initial_budget", "budget", "executed", "execution_rate", "max_score", "score")
    assert numbers("funding", ours["doc_id"], money) == numbers("funding", twin["doc_id"], money)


def test_the_failure_of_a_file_deleted_from_the_share_leaves_documents_csv(tmp_path):
    inputs = tmp_path / "in"
    (good,) = write_text_forms(inputs, 1)
    (inputs / "broken.txt").write_bytes(b"\x00\x01 not a form")  # fails for its own reasons: final
    (inputs / "gone.txt").symlink_to(tmp_path / "nowhere.txt")  # fails as unreadable, keyed by its path
    out = tmp_path / "out"
    run_batch([inputs], out, config(), HOSTILE)
    assert sorted(Path(r["source_path"]).name for r in read_csv(out / "documents.csv")) == [
        "broken.txt", good.name, "gone.txt"]
    (inputs / "broken.txt").unlink()
    (inputs / "gone.txt").unlink()
    summary = run_batch([inputs], out, config(), HOSTILE)
    assert summary.failed == 0
    assert [Path(r["source_path"]).name for r in read_csv(out / "documents.csv")] == [good.name]
    assert record_count(out) == 1
    good.unlink()  # a good document stays when its file goes: its rows are data
    run_batch([tmp_path / "in"], out, config(), HOSTILE, allow_empty=True)  # the share is empty now
    assert [Path(r["source_path"]).name for r in read_csv(out / "documents.csv")] == [good.name]
