"""Scoring an output folder against truth, on tiny hand-made CSVs."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.records import Document, FundingLine, Header, Indicator, Totals
from tests.benchmark.scoring import edit_distance, main, score_output

DOC_ID = "0123456789abcdef"
IND_COLS = ["doc_id", "seq", "page", "level1", "level1_weight", "level2", "level3", "target", "target_op",
            "target_value", "target_unit", "actual", "actual_value", "actual_unit", "max_score", "score",
            "deviation_reason", "confidence", "needs_review", "note"]


def truth_doc() -> Document:
    return Document(
        doc_id=DOC_ID,
        source_path="fixtures/docs/t.pdf",
        sha256=DOC_ID * 4,
        pages=1,
        header=Header(form_type="unit_overall", year=2024, unit_name="上海市闵行区测试中心"),
        funding=[FundingLine(item="财政拨款", budget=Decimal("100.00"), executed=Decimal("99.20"),
                             execution_rate=Decimal("99.20"))],
        indicators=[
            Indicator(seq=1, page=1, level1="产出指标", level1_weight=Decimal("25"), level2="数量指标",
                      level3="电梯加装完成率", target="=100.00(%)", target_op="=", target_value=Decimal("100.00"),
                      target_unit="%", actual="100.00(%)", actual_value=Decimal("100.00"), actual_unit="%",
                      max_score=Decimal("1.00"), score=Decimal("1.00")),
            Indicator(seq=2, page=1, level1="产出指标", level1_weight=Decimal("25"), level2="质量指标",
                      level3="验收合格率", target="合格", actual="达成指标",
                      max_score=Decimal("7.50"), score=Decimal("7.00"), deviation_reason="可进一步提升"),
        ],
        totals=Totals(max_score=Decimal("8.50"), score=Decimal("8.00")),
    )


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def indicator_row(**values: str) -> dict[str, str]:
    return {"doc_id": DOC_ID, "page": "1", "level1": "产出指标", "level1_weight": "25", "confidence": "1",
            "needs_review": "false", **values}


ROW1 = dict(seq="1", level2="数量指标", level3="电梯加装完成率", target="=100.00(%)", target_op="=",
            target_value="100.00", target_unit="%", actual="100.00(%)", actual_value="100", actual_unit="%",
            max_score="1", score="1.0")
ROW2 = dict(seq="2", level2="质量指标", level3="验收合格率", target="合格", actual="达成指标", max_score="7.5",
            score="7", deviation_reason="可进一步提升")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    (truth_dir / "t.json").write_text(truth_doc().model_dump_json(), "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    write_csv(out / "documents.csv",
              ["doc_id", "form_type", "year", "unit_name", "project_name", "supervising_dept", "status",
               "total_max_score", "total_score"],
              [{"doc_id": DOC_ID, "form_type": "unit_overall", "year": "2024", "unit_name": "上海市闵行区测试中心",
                "status": "ok", "total_max_score": "8.5", "total_score": "8.00"}])
    write_csv(out / "funding.csv", ["doc_id", "item", "amount_unit", "initial_budget", "budget", "executed",
                                    "execution_rate", "max_score", "score", "needs_review"],
              [{"doc_id": DOC_ID, "item": "财政拨款", "amount_unit": "元", "budget": "100", "executed": "99.2",
                "execution_rate": "99.20", "needs_review": "false"}])
    write_csv(out / "indicators.csv", IND_COLS, [indicator_row(**ROW1), indicator_row(**ROW2)])
    return out, truth_dir


def test_exact_output_scores_full(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    report = score_output(out, truth_dir)
    assert report.mismatches == []
    assert report.rows_found_share == 1.0
    assert report.numeric.share == report.text.share == report.other.share == 1.0
    assert report.char_accuracy == 1.0
    # numbers compare as Decimals: "7.5" == "7.50", "1.0" == "1.00"
    assert report.numeric.compared == 2 + 6 + 2 * 5


def test_wrong_values_are_listed_with_their_flag(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    bad1 = {**ROW1, "level3": "电梯加装完戍率", "score": "L00", "needs_review": "true"}
    bad2 = {**ROW2, "score": "7.50"}
    write_csv(out / "indicators.csv", IND_COLS, [indicator_row(**bad1), indicator_row(**bad2)])
    report = score_output(out, truth_dir)
    got = {(m.key, m.field): (m.observed, m.via) for m in report.mismatches}
    assert got == {
        ("1", "level3"): ("电梯加装完戍率", "needs_review"),
        ("1", "score"): ("L00", "needs_review"),
        ("2", "score"): ("7.50", ""),
    }
    assert [(m.key, m.field) for m in report.unflagged] == [("2", "score")]
    assert report.text.matched == report.text.compared - 1
    assert report.char_accuracy == pytest.approx(1 - 1 / sum(
        len(v) for v in ("产出指标", "数量指标", "电梯加装完成率", "=100.00(%)", "100.00(%)", "产出指标", "质量指标",
                         "验收合格率", "合格", "达成指标", "可进一步提升")))


def test_a_finding_flags_the_document(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    write_csv(out / "indicators.csv", IND_COLS, [indicator_row(**ROW1), indicator_row(**{**ROW2, "score": "7.5"})])
    findings = ["doc_id", "rule_id", "severity", "seq", "field", "message", "expected", "observed"]
    write_csv(out / "findings.csv", findings, [{"doc_id": DOC_ID, "rule_id": "I8", "severity": "info", "seq": "2"}])
    assert score_output(out, truth_dir).mismatches[0].via == ""  # info does not flag
    write_csv(out / "findings.csv", findings, [{"doc_id": DOC_ID, "rule_id": "I8", "severity": "error", "seq": "2"}])
    assert score_output(out, truth_dir).mismatches[0].via == "row_finding"
    write_csv(out / "findings.csv", findings, [{"doc_id": DOC_ID, "rule_id": "I1", "severity": "warning"}])
    assert score_output(out, truth_dir).mismatches[0].via == "document_finding"


def test_missing_rows_and_documents(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    write_csv(out / "indicators.csv", IND_COLS, [indicator_row(**ROW1)])
    report = score_output(out, truth_dir)
    assert report.rows_found_share == 0.5
    lost = [m for m in report.mismatches if m.key == "2"]
    assert lost and all(m.observed is None for m in lost)
    assert {m.field for m in lost} >= {"level3", "score", "deviation_reason"}

    for name in ("documents.csv", "funding.csv", "indicators.csv"):
        (out / name).unlink()
    report = score_output(out, truth_dir)
    assert not report.docs[0].found and report.rows_found_share == 0.0
    assert report.char_accuracy == 0.0


def test_non_numbers_never_match(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    write_csv(out / "indicators.csv", IND_COLS,
              [indicator_row(**{**ROW1, "target_value": "1OO.00"}), indicator_row(**ROW2)])
    report = score_output(out, truth_dir)
    assert [(m.key, m.field, m.via) for m in report.mismatches] == [("1", "target_value", "")]


def test_names_select_truth_files(folders: tuple[Path, Path]) -> None:
    out, truth_dir = folders
    assert len(score_output(out, truth_dir, ["t"]).docs) == 1
    with pytest.raises(FileNotFoundError):
        score_output(out, truth_dir, ["nope"])


def test_main_prints_and_writes_json(folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out, truth_dir = folders
    assert main([str(out), "--truth", str(truth_dir)]) == 0
    assert "t " in capsys.readouterr().out
    data = json.loads((out / "score.json").read_text("utf-8"))
    assert data["summary"]["wrong_values"] == 0 and data["summary"]["documents_found"] == 1


def test_edit_distance() -> None:
    assert edit_distance("", "abc") == 3
    assert edit_distance("完成率", "完戍率") == 1
    assert edit_distance("7.50", "7. 50") == 1
