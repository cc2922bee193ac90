"""Every option the README documents, through the command line, each checked by what it changes:
a test here fails if its option stops working, not only if it leaves `--help`.

(`--doc-timeout` alone, and `--page-timeout`, are in test_cli.py and test_faults.py; `--json-log`'s
event stream in test_cli.py; `--executor dask` in test_dask.py; `--max-file-size` in test_faults.py.)
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import __version__
from pipeline.cli import main
from pipeline.outputs.export import CSV_COLUMNS
from tests.batchfiles import fixture, read_csv, write_text_forms


def _events(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_force_reads_again_what_an_earlier_run_read(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_text_forms(inputs, 1)
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    (record,) = (out / "records").glob("*.json")
    # a record as an earlier version of perfscan might have read the form
    data = json.loads(record.read_text("utf-8"))
    data["header"]["unit_name"] = "旧版本读成的单位"
    record.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    (out / "documents.csv").unlink()  # so that the tables are built again from the records

    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    assert read_csv(out / "documents.csv")[0]["unit_name"] == "旧版本读成的单位"  # done: not read again
    assert main(["import-text", str(inputs), "--out", str(out), "--force"]) == 0
    assert read_csv(out / "documents.csv")[0]["unit_name"] == "测试单位000号"  # read again


def test_config_file_and_the_flags_that_override_it(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("batch:\n  doc_timeout: 0.01\n  page_timeout: 0.001\n", "utf-8")
    strict = tmp_path / "strict"
    assert main(["run", str(fixture("u000_digital")), "--out", str(strict), "--config", str(config)]) == 2
    (doc,) = read_csv(strict / "documents.csv")
    assert doc["status"] == "failed" and "longer than 0.01 s" in doc["message"]

    relaxed = tmp_path / "relaxed"
    assert main(["run", str(fixture("u000_digital")), "--out", str(relaxed), "--config", str(config),
                 "--doc-timeout", "600", "--page-timeout", "60"]) == 0
    (doc,) = read_csv(relaxed / "documents.csv")
    assert doc["status"] == "ok"

    config.write_text("ocr:\n  engine: nosuchengine\n", "utf-8")
    assert main(["run", str(fixture("u000_digital")), "--out", str(tmp_path / "bad"), "--config", str(config)]) == 1
    assert main(["run", str(fixture("u000_digital")), "--out", str(tmp_path / "flag"), "--config", str(config),
                 "--engine", "tesseract"]) == 0  # the flag wins over the file


def test_unknown_engine_is_refused(tmp_path):
    assert main(["run", str(fixture("u000_digital")), "--out", str(tmp_path / "out"), "--engine", "nosuch"]) == 1


@pytest.mark.slow
def test_engine_reads_a_scan_with_the_engine_named(tmp_path):
    for engine in ("tesseract", "rapidocr"):
        out = tmp_path / engine
        assert main(["run", str(fixture("u000_scan")), "--out", str(out), "--engine", engine]) == 0
        (doc,) = read_csv(out / "documents.csv")
        assert doc["engine"] == engine
        record = json.loads((out / "records" / f"{doc['doc_id']}.json").read_text("utf-8"))
        assert {p["engine"] for ind in record["indicators"] for p in ind["provenance"].values()} == {engine}


def test_the_workbook_is_written_on_every_run_and_holds_what_the_csvs_hold(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_text_forms(inputs, 2)
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    write_text_forms(inputs, 3)  # a third form arrives; no --xlsx asked for, the workbook follows
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    book = load_workbook(out / "perfscan.xlsx")
    for name, columns in CSV_COLUMNS.items():
        rows = read_csv(out / f"{name}.csv")
        sheet = [[c.value for c in row] for row in book[name].iter_rows()]
        assert sheet[0] == columns
        assert len(sheet) - 1 == len(rows), name
        for values, row in zip(sheet[1:], rows, strict=True):
            for column, value in zip(columns, values, strict=True):
                text = row[column]
                if value is None:
                    assert text == "", (name, column)
                elif isinstance(value, bool):
                    assert text == str(value).lower()
                elif isinstance(value, (int, float)):
                    assert Decimal(text) == Decimal(str(value)), (name, column, text, value)
                else:
                    assert text in (value, "'" + value), (name, column, text, value)
    assert len(read_csv(out / "documents.csv")) == 3
    kinds = {c.data_type for sheet in book for row in sheet.iter_rows() for c in row}
    assert kinds <= {"s", "inlineStr", "n", "b"}  # strings, numbers, booleans: never a formula ("f")
    target = next(c for c in book["indicators"][1] if c.value == "target").column
    assert book["indicators"].cell(9, target).value == "=100.00(%)"  # text, as written
    # --xlsx, from older command lines, is still taken
    assert main(["import-text", str(inputs), "--out", str(out), "--xlsx"]) == 0


@pytest.mark.slow
def test_workers_process_documents_side_by_side(tmp_path):
    docs = [str(fixture(name)) for name in ("u000_digital", "p001_digital")]
    spans = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        assert main(["run", *docs, "--out", str(out), "--workers", str(workers)]) == 0
        with sqlite3.connect(out / "state.sqlite") as db:
            spans[workers] = sorted(db.execute("SELECT started_at, started_at + seconds FROM documents"))
    (a, b) = spans[1]
    assert b[0] >= a[1]  # one worker: one after the other
    (a, b) = spans[2]
    assert b[0] < a[1]  # two workers: the second began before the first ended


def test_memory_limit_stops_a_worker_over_it(tmp_path, capsys):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 1)
    out = tmp_path / "tight"
    assert main(["import-text", str(inputs), "--out", str(out), "--memory-limit", "20M", "--json-log"]) == 2
    (doc,) = read_csv(out / "documents.csv")
    assert doc["status"] == "failed" and "over the memory limit of 20 MB (--memory-limit)" in doc["message"]
    assert _events(capsys)[-1]["failures"] == {"memory": 1}
    assert main(["import-text", str(inputs), "--out", str(tmp_path / "roomy"), "--memory-limit", "2G"]) == 0


def test_retry_failed_and_the_summary_that_names_what_failed_before(tmp_path, capsys):
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_text_forms(inputs, 1)
    (inputs / "broken.txt").write_bytes(b"\x00\x01 binary")
    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 2
    capsys.readouterr()

    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 2
    events = _events(capsys)
    summary = events[-1]
    assert summary["failed_unchanged"] == [str(inputs / "broken.txt")] and summary["processed"] == 0
    assert (summary["exit_code"], summary["version"], summary["failed_before"]) == (2, __version__, 1)
    assert {k: summary[k] for k in ("ok", "needs_review", "skipped", "failed")} == {
        "ok": 0, "needs_review": 0, "skipped": 0, "failed": 0}  # counts of this run's processing
    assert summary["review_page"] == str(out / "review" / "index.html")
    assert not [e for e in events if e["event"] == "document" and e.get("action") == "processed"]

    assert main(["import-text", str(inputs), "--out", str(out), "--json-log", "--retry-failed"]) == 2
    events = _events(capsys)
    (tried,) = [e for e in events if e["event"] == "document" and e.get("action") == "processed"]
    assert Path(tried["path"]).name == "broken.txt" and tried["status"] == "failed"
    assert events[-1]["failed_unchanged"] == []


def test_failed_before_is_named_on_the_plain_summary_line(tmp_path):
    from tests.batchfiles import run_cli

    inputs, out = tmp_path / "in", tmp_path / "out"
    write_text_forms(inputs, 1)
    (inputs / "broken.txt").write_bytes(b"\x00\x01 binary")
    assert run_cli("import-text", inputs, "--out", out).returncode == 2
    again = run_cli("import-text", inputs, "--out", out)
    assert again.returncode == 2
    last = again.stderr.decode().splitlines()[-1]
    assert f"failed before and unchanged, not tried again (--retry-failed tries them): {inputs / 'broken.txt'}" in last


def test_a_named_folder_without_documents_exits_1_unless_allowed(tmp_path, capsys):
    share, out = tmp_path / "share", tmp_path / "out"
    share.mkdir()
    (share / "notes.docx").write_bytes(b"PK")  # something, but no document perfscan reads
    assert main(["run", str(share), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no documents" in err and str(share) in err and "--allow-empty" in err
    assert not (out / "records").exists()
    assert main(["run", str(share), "--out", str(out), "--allow-empty", "--json-log"]) == 0
    assert _events(capsys)[-1]["inputs"] == 0
