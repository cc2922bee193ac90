"""reviews.csv → the records and every table: applied afresh on every run and rebuild, taken back
when withdrawn, kept but not applied when the document changed."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.cli import main
from pipeline.outputs.folder import OutputFolder
from pipeline.outputs.reviews import BadDecision, read_decisions, record_decision
from tests.batchfiles import output_files, read_csv, text_form
from tests.test_reviewapp import flagged_form


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    inputs, out = tmp_path / "in", tmp_path / "out"
    flagged_form(inputs)
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    return inputs, out


def _decide(out: Path, seq: int | None, field: str, value: str, decision: str) -> None:
    (doc,), _ = OutputFolder(out).load_records()
    record_decision(out, doc, seq, field, value, decision, "李复核")


def _row8(out: Path) -> dict[str, str]:
    return read_csv(out / "indicators.csv")[7]


def test_decisions_are_applied_once_however_often_the_folder_is_rebuilt(tmp_path):
    _, out = _folder(tmp_path)
    assert _row8(out)["needs_review"] == "true"
    _decide(out, 8, "level3", "", "approved")
    _decide(out, 8, "max_score", "", "approved")
    _decide(out, 8, "score", "25.00", "approved")
    _decide(out, 8, "target", "=100.00(%)", "corrected")  # not flagged: a person may decide on it all the same
    assert main(["rebuild", str(out)]) == 0
    row = _row8(out)
    assert (row["score"], row["needs_review"], row["target_value"], row["target_op"]) == ("25.00", "false", "100.00", "=")
    (doc,) = read_csv(out / "documents.csv")
    assert doc["status"] == "ok"  # the arithmetic repair approved: nothing left in doubt
    first = output_files(out)
    assert main(["rebuild", str(out)]) == 0
    assert output_files(out) == first  # the same reviews applied to the settled records: nothing moves


def test_a_decision_replaced_or_withdrawn_is_taken_back(tmp_path):
    inputs, out = _folder(tmp_path)
    _decide(out, 8, "score", "20.00", "corrected")
    _decide(out, 8, "score", "24.00", "corrected")  # decided again: replaces the first
    decisions, problems = read_decisions(out)
    assert [(d.field, d.value) for d in decisions] == [("score", "24.00")] and problems == []
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0  # a run applies them too
    assert _row8(out)["score"] == "24.00"
    assert _row8(out)["needs_review"] == "true"  # the 分值 and 三级 of the row are not decided yet

    (out / "reviews.csv").unlink()
    assert main(["import-text", str(inputs), "--out", str(out)]) == 0
    row = _row8(out)
    assert (row["score"], row["needs_review"]) == ("25.00", "true")  # as read (and repaired), flagged again
    (record,) = (out / "records").glob("*.json")
    data = json.loads(record.read_text("utf-8"))
    assert "reviews" not in data and "source" not in data["indicators"][7]["provenance"].get("score", {})


def test_a_decision_on_a_document_that_changed_is_kept_not_applied_and_listed(tmp_path, capsys):
    inputs, out = _folder(tmp_path)
    _decide(out, 8, "score", "24.00", "corrected")
    (inputs / "form.txt").write_text(text_form("复核单位", budget=2000).replace("25.00\t25.00\t", "25.00\t\t"),
                                     encoding="utf-8")
    capsys.readouterr()
    assert main(["import-text", str(inputs), "--out", str(out), "--json-log"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    (old,), _ = read_decisions(out)
    assert summary["stale_reviews"] == [f"{old.doc_id} score row 8"]
    assert _row8(out)["score"] == "25.00"  # the new content's own reading
    assert (out / "reviews.csv").exists() and len(read_decisions(out)[0]) == 1
    assert "not applied" in (out / "review" / "index.html").read_text("utf-8")


def test_a_decision_the_document_cannot_take_is_refused(tmp_path):
    _, out = _folder(tmp_path)
    (doc,), _ = OutputFolder(out).load_records()
    for seq, field, value, decision in [(8, "score", "二十四", "corrected"), (99, "score", "1", "corrected"),
                                        (8, "score", "1", "maybe"), (None, "header.form_type", "x", "corrected")]:
        try:
            record_decision(out, doc, seq, field, value, decision, "")
        except BadDecision:
            continue
        raise AssertionError(f"{field}={value!r} ({decision}) was taken")
    assert not (out / "reviews.csv").exists()


def test_rebuild_of_a_folder_that_is_none_exits_1(tmp_path):
    assert main(["rebuild", str(tmp_path)]) == 1


def test_perfscan_review_serves_the_folder_on_localhost(tmp_path):
    """The command line's `perfscan review`: it says where it listens, serves the documents to review
    and takes a decision (the browser test drives the same app with the keyboard)."""
    import re
    import subprocess
    import sys
    from urllib.parse import urlencode
    from urllib.request import Request, urlopen

    from tests.batchfiles import REPO

    _, out = _folder(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "review", str(out), "--port", "0",
                             "--reviewer", "张三"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        index = urlopen(url, timeout=30).read().decode("utf-8")
        (doc,) = read_csv(out / "documents.csv")
        assert f"/doc/{doc['doc_id']}" in index and "张三" in index
        page = urlopen(f"{url}doc/{doc['doc_id']}", timeout=30).read().decode("utf-8")
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        form = {"token": token, "doc_id": doc["doc_id"], "seq": "8", "field": "score", "value": "24.00",
                "decision": "corrected"}
        answer = urlopen(Request(f"{url}decide", data=urlencode(form).encode(), headers={"Accept": "application/json"}),
                         timeout=30)
        assert json.loads(answer.read())["value"] == "24.00"
        forged = urlencode({**form, "token": "from-another-page"}).encode()
        try:
            urlopen(Request(f"{url}decide", data=forged), timeout=30)
            raise AssertionError("a post without the page's token was taken")
        except OSError as exc:
            assert getattr(exc, "code", None) == 403
    finally:
        proc.terminate()
        proc.wait(30)
    (decision,) = read_decisions(out)[0]
    assert (decision.field, decision.value, decision.reviewer) == ("score", "24.00", "张三")
