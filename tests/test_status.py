"""One status per document, settled after the checks across documents and the reviews, before
anything is written or counted: records, CSVs, review page, summary, JSON log and exit code agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline import __version__
from pipeline.cli import main
from tests.batchfiles import read_csv
from tests.conftest import seed


def _everywhere(out: Path, events: list[dict]) -> dict[str, dict[str, str]]:
    """doc_id → the status each place gives it."""
    index = (out / "review" / "index.html").read_text("utf-8")
    # the table of documents needing review comes first; failed (h2), skipped and ok (details) follow
    waiting = index.split("<h2>", 1)[0].split("<details>", 1)[0]
    places: dict[str, dict[str, str]] = {}
    for row in read_csv(out / "documents.csv"):
        doc_id = row["doc_id"]
        record = json.loads((out / "records" / f"{doc_id}.json").read_text("utf-8"))
        logged = [e for e in events if e["event"] == "document" and e.get("doc_id") == doc_id]
        places[doc_id] = {
            "documents.csv": row["status"],
            "record": record["status"],
            "json log": logged[-1]["status"],
            "review page": "needs_review" if f'href="{doc_id}.html"' in waiting else "ok",
        }
    return places


def test_a_report_and_its_table_in_conflict_say_the_same_everywhere(tmp_path, capsys):
    text = seed("003").read_text("utf-8").replace("基本支出 1,671.24 万元", "基本支出 1,617.24 万元")
    changed = tmp_path / "003_changed.txt"
    changed.write_text(text, "utf-8")
    out = tmp_path / "out"
    code = main(["import-text", str(changed), str(seed("000")), "--out", str(out), "--json-log"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = events[-1]

    places = _everywhere(out, events)
    assert len(places) == 2
    # each of the two carries the X3 error found against the other: needs_review, everywhere
    for doc_id, said in places.items():
        assert set(said.values()) == {"needs_review"}, (doc_id, said)
        assert any(f["rule_id"] == "X3" for f in read_csv(out / "findings.csv") if f["doc_id"] == doc_id)
    assert (summary["ok"], summary["needs_review"], summary["failed"]) == (0, 2, 0)
    assert summary["exit_code"] == code == 0 and summary["version"] == __version__
    for doc_id in places:  # the record keeps the finding against the other document, marked as such
        record = json.loads((out / "records" / f"{doc_id}.json").read_text("utf-8"))
        assert any(f["rule_id"] == "X3" and f["cross"] for f in record["findings"])

    # the report put right: both documents are ok again, everywhere, on the next run
    changed.write_text(seed("003").read_text("utf-8"), "utf-8")
    assert main(["import-text", str(changed), str(seed("000")), "--out", str(out), "--json-log"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    places = _everywhere(out, events)
    assert all(set(said.values()) == {"ok"} for said in places.values()), places
    assert events[-1]["ok"] == 1 and events[-1]["already_done"] == 1  # the table was done before: not counted
    assert not any(f["rule_id"].startswith("X") for f in read_csv(out / "findings.csv"))


def test_the_summary_line_counts_the_settled_status_and_points_to_the_review_page(tmp_path):
    text = seed("003").read_text("utf-8").replace("基本支出 1,671.24 万元", "基本支出 1,617.24 万元")
    changed = tmp_path / "003_changed.txt"
    changed.write_text(text, "utf-8")
    out = tmp_path / "out"
    from tests.batchfiles import run_cli

    done = run_cli("import-text", changed, seed("000"), "--out", out)
    last = done.stderr.decode().splitlines()[-1]
    assert re.search(r"2 processed \(0 ok, 2 needs_review, 0 skipped, 0 failed\)", last), last
    assert last.endswith(f"review: {out / 'review' / 'index.html'}")
