"""Faults a hostile folder tree or a sick machine brings, injected one at a time: a link into the
output folder, a damaged output folder, a document that is always too slow, a huge file, a full
or read-only disk. Each must end in words an operator understands and the contract's exit code,
never a traceback, and lose nothing a re-run cannot finish.

Like the zoo beside it, the faults are made for real where the machine allows (a tmpfs that fills
up, a read-only bind mount, inside a private mount namespace); process functions that misbehave
come from `batchfiles`, so production code carries no test hooks.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.batch import Command, run_batch
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.inputs import TEXT_EXTRACTIONS
from tests.batchfiles import INDICATORS_PER_FORM, output_files, read_csv, record_count, write_text_forms


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
