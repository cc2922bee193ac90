"""Narrative 自评报告: reading (text layer, OCR, text extraction), facts, unit and year, report ↔ table
cross-checks — on the real seed 003 with its table 000, on the generated report fixtures, and on
small hand-built pages for what the fixtures do not show (two columns, OCR slips, targets)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from pipeline.checks.cross import cross_check
from pipeline.cli import main
from pipeline.forms import build_form
from pipeline.forms.narrative import drop_furniture, page_lines, paragraphs
from pipeline.forms.report import read_facts
from pipeline.records import Document, Fact, FundingLine, Header
from pipeline.types import BBox, Cell, TableGrid
from tests.benchmark.scoring import truth_documents
from tests.conftest import REPO, seed

FIXTURES = REPO / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text("utf-8"))
REPORTS = sorted(n for n, e in MANIFEST.items() if e["form"] == "report")
D = Decimal

CLAIMS = ("satisfaction_rate", "coverage_rate")  # result claims a report adds to the contract's keys
FACTS_003 = {
    "staff_count": ("35", "人"), "total_budget": ("2885.53", "万元"), "fiscal_appropriation": ("2885.53", "万元"),
    "basic_expenditure": ("1671.24", "万元"), "personnel_expenditure": ("1629.26", "万元"),
    "public_expenditure": ("41.98", "万元"), "project_expenditure": ("1214.29", "万元"),
    "initial_budget": ("2381.12", "万元"), "budget_adjustment": ("504.41", "万元"), "executed": ("2862.49", "万元"),
    "execution_rate": ("99.20", "%"),
}
CONTRACT_KEYS = tuple(FACTS_003)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text("utf-8-sig").splitlines()))


def by_seed(out: Path) -> dict[str, dict[str, str]]:
    """documents.csv rows by seed number (`003_….txt` → `003`)."""
    return {Path(d["source_path"]).name.split("_")[0]: d for d in read_csv(out / "documents.csv")}


def facts_of(out: Path, doc_id: str) -> dict[str, dict[str, str]]:
    return {r["key"]: r for r in read_csv(out / "facts.csv") if r["doc_id"] == doc_id}


def x_findings(out: Path) -> list[dict[str, str]]:
    return [f for f in read_csv(out / "findings.csv") if f["rule_id"].startswith("X")]


def truth(name: str) -> Document:
    return Document.model_validate_json((FIXTURES / "truth" / f"{name}.json").read_text("utf-8"))


# --- seed 003 and its table 000, through the command line ----------------------------------------------

def test_seed_003_facts_exact_and_every_cross_check_passes(tmp_path):
    out = tmp_path / "out"
    assert main(["import-text", str(seed("003")), str(seed("000")), "--out", str(out)]) == 0
    docs = by_seed(out)
    report, table = docs["003"], docs["000"]
    assert (report["form_type"], report["year"], report["unit_name"]) == ("report", "2024", "虹桥镇社区党群服务中心")
    facts = facts_of(out, report["doc_id"])
    assert {k: (facts[k]["value"], facts[k]["unit"]) for k in CONTRACT_KEYS} == FACTS_003
    assert set(facts) - set(CONTRACT_KEYS) == set(CLAIMS)
    assert "预算执行金额为2,862.49万元" in facts["executed"]["text"]
    assert x_findings(out) == []
    assert report["status"] == table["status"] == "ok"


def test_seed_003_is_paired_with_000_so_a_changed_figure_is_reported_on_both(tmp_path):
    """Proof that the pairing is live: the same report with 基本支出 misprinted fails X3 against 000."""
    text = seed("003").read_text("utf-8").replace("基本支出 1,671.24 万元", "基本支出 1,617.24 万元")
    changed = tmp_path / "003_changed.txt"
    changed.write_text(text, "utf-8")
    out = tmp_path / "out"
    assert main(["import-text", str(changed), str(seed("000")), "--out", str(out)]) == 0
    docs = by_seed(out)
    found = {(f["doc_id"], f["rule_id"], f["field"]) for f in x_findings(out) if f["severity"] == "error"}
    assert (docs["003"]["doc_id"], "X3", "fact.basic_expenditure") in found
    assert (docs["000"]["doc_id"], "X3", "funding.基本支出.budget") in found
    # and the report's own sums see it too: 基本 ≠ 人员 + 公用, 总额 ≠ 基本 + 项目
    assert {r for d, r, _ in found if d == docs["003"]["doc_id"]} == {"X3", "X8", "X9"}


def test_report_with_its_table_appended_is_two_documents_checked_like_two_files(tmp_path):
    """A text extraction holding the report and then its table: two documents, the report's facts
    and the table's values, checked against each other as if filed apart — a changed figure in the
    report is reported on both."""
    text = seed("003").read_text("utf-8") + "\n\n" + seed("000").read_text("utf-8")
    both = tmp_path / "003_with_000.txt"
    both.write_text(text, "utf-8")
    out = tmp_path / "out"
    assert main(["import-text", str(both), "--out", str(out)]) == 0
    report, table = read_csv(out / "documents.csv")
    assert (report["form_type"], report["form_index"], report["doc_id"] + "-2") == ("report", "1", table["doc_id"])
    assert (table["form_type"], table["unit_name"], table["total_score"]) == (
        "unit_overall", "上海市闵行区虹桥镇社区党群服务中心", "100.00")
    assert int(report["last_page"]) + 1 == int(table["first_page"]) and table["form_index"] == "2"
    facts = facts_of(out, report["doc_id"])
    assert {k: (facts[k]["value"], facts[k]["unit"]) for k in CONTRACT_KEYS} == FACTS_003
    assert facts_of(out, table["doc_id"]) == {}
    assert len(read_csv(out / "indicators.csv")) == 35 and len(read_csv(out / "funding.csv")) == 4
    assert x_findings(out) == []
    both.write_text(text.replace("基本支出 1,671.24 万元", "基本支出 1,617.24 万元"), "utf-8")
    assert main(["import-text", str(both), "--out", str(out)]) == 0
    report, table = read_csv(out / "documents.csv")
    found = {(f["doc_id"], f["rule_id"], f["field"]) for f in x_findings(out) if f["severity"] == "error"}
    assert (report["doc_id"], "X3", "fact.basic_expenditure") in found
    assert (table["doc_id"], "X3", "funding.基本支出.budget") in found


# --- generated fixtures ---------------------------------------------------------------------------------

def _fact_rows(doc: Document) -> dict[str, tuple[str, str, str]]:
    return {f.key: (str(f.value), f.unit, f.text) for f in doc.facts}


TABLE_CELL = {"fiscal_appropriation": "funding.财政拨款.budget"}  # where a planted fact's figure sits in the table


def _expected_cross_findings(reports: list[str], tables: list[str]) -> set[tuple[str, str, str]]:
    """(doc_id, rule, field) the planted mismatches must give: on the report and on its unit's tables."""
    out = set()
    for name in reports:
        m = MANIFEST[name]["mismatch"]
        if not m:
            continue
        out.add((truth(name).doc_id, m["rule"], f"fact.{m['key']}"))
        unit = truth(name).header.unit_name
        for table in tables:
            if truth(table).header.unit_name.endswith(unit):
                out.add((truth(table).doc_id, m["rule"], TABLE_CELL[m["key"]]))
    return out


def run_fixtures(out: Path, names: list[str]) -> None:
    assert main(["run", *(str(FIXTURES / "docs" / f"{n}.pdf") for n in names), "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def digital_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports_digital")
    run_fixtures(out, ["r101_digital", "r102_digital", "m101_digital", "u101_digital", "u102_digital"])
    return out


@pytest.mark.parametrize("name", ["r101_digital", "r102_digital", "m101_digital"])
def test_born_digital_report_facts_and_header_exact(digital_run, name):
    want = truth_documents(FIXTURES / "truth" / f"{name}.json")[0]
    got = Document.model_validate_json((digital_run / "records" / f"{want.doc_id}.json").read_bytes())
    assert got.engine == "camelot"
    assert (got.header.form_type, got.header.year, got.header.unit_name) == (
        want.header.form_type, want.header.year, want.header.unit_name)
    assert _fact_rows(got) == _fact_rows(want)


def test_planted_mismatch_is_reported_and_nothing_else(digital_run):
    found = {(f["doc_id"], f["rule_id"], f["field"]) for f in x_findings(digital_run)}
    assert found == _expected_cross_findings(["r101_digital", "r102_digital"], ["u101_digital", "u102_digital"])
    assert all(f["severity"] == "error" for f in x_findings(digital_run))
    statuses = {d["doc_id"]: d["status"] for d in read_csv(digital_run / "documents.csv")}
    mixed = truth_documents(FIXTURES / "truth" / "m101_digital.json")
    assert statuses[truth("r101_digital").doc_id] == "ok"
    assert [statuses[d.doc_id] for d in mixed] == ["ok", "ok"]
    assert statuses[truth("r102_digital").doc_id] == "needs_review"


def test_a_report_bound_with_its_table_is_two_documents_paired_like_two_files(digital_run):
    """m101 binds report 101 and table u101: two records, the facts on the report alone, and the
    pairing is live — a figure changed in the table is reported on both."""
    report, table = (Document.model_validate_json((digital_run / "records" / f"{d.doc_id}.json").read_bytes())
                     for d in truth_documents(FIXTURES / "truth" / "m101_digital.json"))
    assert (report.header.form_type, table.header.form_type) == ("report", "unit_overall")
    assert report.facts and not table.facts and table.indicators and not report.indicators
    assert cross_check([report, table]) == {}
    changed = table.model_copy(update={"funding": [
        f.model_copy(update={"budget": f.budget + 100000}) if f.item == "财政拨款" else f for f in table.funding]})
    found = cross_check([report, changed])
    assert set(found) == {report.doc_id, table.doc_id}
    assert {f.field for f in found[table.doc_id]} >= {"funding.财政拨款.budget"}


@pytest.mark.slow
def test_scanned_reports_give_their_twins_facts(tmp_path):
    """Full-page OCR of the scanned reports: every figure exact, unit and year exact, sentences as
    printed up to OCR slips in punctuation, and the same cross-check findings as the PDFs."""
    out = tmp_path / "out"
    scans = [n for n in REPORTS if MANIFEST[n]["kind"] == "scan"]
    run_fixtures(out, [*scans, "u101_digital", "u102_digital"])
    for name in scans:
        want = truth(MANIFEST[name]["twin"])
        got = Document.model_validate_json((out / "records" / f"{truth(name).doc_id}.json").read_bytes())
        assert got.engine == "rapidocr"
        assert (got.header.year, got.header.unit_name) == (want.header.year, want.header.unit_name), name
        g, w = _fact_rows(got), _fact_rows(want)
        assert {k: v[:2] for k, v in g.items()} == {k: v[:2] for k, v in w.items()}, name
        for key in w:
            assert SequenceMatcher(None, g[key][2], w[key][2]).ratio() > 0.95, (name, key, g[key][2])
    found = {(f["doc_id"], f["rule_id"], f["field"]) for f in x_findings(out)}
    assert found == _expected_cross_findings(scans, ["u101_digital", "u102_digital"])


def test_report_fixture_truth_is_sound():
    """Each hand-written fact sentence is printed, holds its figure, and the twins agree."""
    from fixtures.content.reports import REPORT_101, REPORT_102

    for report in (REPORT_101, REPORT_102):
        printed = "".join(p.text for p in report.paragraphs)
        for fact in report.facts:
            assert fact.sentence in printed and fact.printed in fact.sentence, fact.key
        assert {f.key for f in report.facts} >= set(CONTRACT_KEYS)
    for name in REPORTS:
        twin = MANIFEST[name]["twin"]
        assert _fact_rows(truth(name)) == _fact_rows(truth(twin))
        assert 1 <= MANIFEST[name]["pages"] <= 2  # OCR costs seconds a page


# --- reading: hand-built pages ----------------------------------------------------------------------------

def text_page(page: int, *lines: str) -> TableGrid:
    cells = tuple(Cell(page=page, row=i, col=0, text=t) for i, t in enumerate(lines))
    return TableGrid(page=page, n_rows=len(lines), n_cols=1, cells=cells)


def ocr_page(page: int, *boxes: tuple[str, tuple[int, int, int, int]]) -> TableGrid:
    cells = tuple(Cell(page=page, row=i, col=0, text=t, bbox=BBox(*b), engine="rapidocr")
                  for i, (t, b) in enumerate(boxes))
    return TableGrid(page=page, n_rows=len(boxes), n_cols=1, cells=cells)


def test_page_numbers_and_running_header_are_dropped_and_a_sentence_runs_across_the_break():
    grids = [
        text_page(1, "某某中心 2024 年度整体支出绩效自评报告", "部门（单位）整体支出预算绩效自评报告", "（2024 年度）",
                  "一、预算执行情况", "年中根据实际需要调增预算，合计调增资金为", "- 1 -"),
        text_page(2, "某某中心 2O24 年度整体支出绩效自评报告", "504.41 万元，调整后预算金额为 2,885.53 万元。", "第 2 页 共 2 页"),
    ]
    pages = drop_furniture(page_lines(grids))
    assert [ln.text for ln in pages[1]] == ["504.41 万元，调整后预算金额为 2,885.53 万元。"]  # OCR slip O for 0 too
    paras = [p.text for p in paragraphs(pages)]
    assert paras[-1] == "年中根据实际需要调增预算，合计调增资金为504.41 万元，调整后预算金额为 2,885.53 万元。"
    facts = {f.key: f.value for f in read_facts(paragraphs(pages), [])}
    assert facts == {"budget_adjustment": D("504.41"), "total_budget": D("2885.53")}


def test_two_columns_are_read_column_by_column():
    h = 40
    left = [(f"左栏第{i}行文字内容", (100, 200 + i * 60, 700, 200 + i * 60 + h)) for i in range(6)]
    right = [(f"右栏第{i}行文字内容", (800, 200 + i * 60, 1400, 200 + i * 60 + h)) for i in range(6)]
    title = ("跨栏标题", (300, 100, 1200, 100 + h))
    boxes = [title, *[b for pair in zip(left, right) for b in pair]]
    lines = [ln.text for ln in page_lines([ocr_page(1, *boxes)])[0]]
    assert lines == ["跨栏标题", *(t for t, _ in left), *(t for t, _ in right)]


def test_boxes_of_one_line_are_one_line_left_to_right():
    boxes = [("万元。", (900, 103, 1100, 140)), ("预算执行金额为 1,487.32", (100, 100, 880, 142))]
    assert [ln.text for ln in page_lines([ocr_page(1, *boxes)])[0]] == ["预算执行金额为 1,487.32 万元。"]


def test_layout_decides_paragraphs_on_scans():
    """Indent starts a paragraph, a short line ends one, a full line ending in 。 does not; a line
    opening with a figure (`97.30%`) is no numbered heading."""
    rows = [
        ("　　全年网格巡查覆盖率达到 100%，热线工单按时办结率", (180, 100, 1400, 140)),
        ("97.30%。汛期共排查积水点位 41 处，防汛物资储备按时到位。", (100, 160, 1405, 200)),
        ("全年未发生重大安全事故。", (100, 220, 600, 260)),
        ("第三方测评显示，辖区居民满意度达到 92.4%。", (180, 280, 1100, 320)),
    ]
    paras = paragraphs([page_lines([ocr_page(1, *rows)])[0]])
    assert len(paras) == 2
    assert paras[0].text.endswith("全年未发生重大安全事故。")


# --- facts: what is and what is not a figure of the whole budget -------------------------------------------

def facts_of_text(*lines: str) -> dict[str, Fact]:
    return {f.key: f for f in read_facts(paragraphs(drop_furniture(page_lines([text_page(1, *lines)]))), [])}


def test_targets_parts_and_cuts_are_told_apart():
    facts = facts_of_text(
        "绩效目标：群众满意度达到 90%，预算执行率不低于 95%。",
        "项目支出执行率为 99.81%，基本支出执行数为 1,650.41 万元。",
        "年中调减预算 12.50 万元，预算执行金额为 1.487.32 万元，整体预算执行率为 97.04%。",
        "年末问卷调查显示，群众满意度为 96.8%。",
    )
    assert facts["execution_rate"].value == D("97.04")  # not the 项目支出 rate, not the target
    assert facts["executed"].value == D("1487.32")  # OCR's 1.487.32, not the 基本支出 figure
    assert facts["budget_adjustment"].value == D("-12.50")  # 调减
    assert facts["satisfaction_rate"].value == D("96.8")  # not the target 90


def test_amounts_in_yuan_are_compared_in_wan():
    facts = facts_of_text("整体预算总额 28,855,329.62 元。")
    assert (facts["total_budget"].value, facts["total_budget"].unit) == (D("28855329.62"), "元")


def test_report_unit_from_title_label_or_signature():
    title = build_form([text_page(1, "上海市闵行区某某街道文化活动中心2024年度部门整体支出绩效自评报告", "一、基本情况",
                                   "年末在职人数 5 人。")])
    assert (title.header.form_type, title.header.unit_name, title.header.year) == (
        "report", "上海市闵行区某某街道文化活动中心", 2024)
    label = build_form([text_page(1, "整体支出预算绩效自评报告", "编报单位：某某镇社区事务受理服务中心", "一、基本情况")])
    assert label.header.unit_name == "某某镇社区事务受理服务中心"
    signed = build_form([text_page(1, "整体支出预算绩效自评报告", "（2024年度）", "一、基本情况", "工作有序开展。",
                                   "某某镇城市运行管理中心", "2025 年 3 月 20 日")])
    assert signed.header.unit_name == "某某镇城市运行管理中心"


# --- cross-checks between documents ------------------------------------------------------------------------

def unit_table(doc_id: str, unit: str, fiscal: str = "28855329.62") -> Document:
    money = [FundingLine(item="财政拨款", budget=D(fiscal), executed=D("28624853.82")),
             FundingLine(item="其他资金", budget=D("0.00"), executed=D("0.00")),
             FundingLine(item="基本支出", budget=D("16712410.00"), executed=D("16504145.44")),
             FundingLine(item="项目支出", budget=D("12142919.62"), executed=D("12120708.38"))]
    return Document(doc_id=doc_id, source_path=f"{doc_id}.pdf", sha256=doc_id * 4,
                    header=Header(form_type="unit_overall", year=2024, unit_name=unit), funding=money)


def report(unit: str, **figures: str) -> Document:
    facts = [Fact(key=k, value=D(v), unit="%" if k == "execution_rate" else "万元", text="")
             for k, v in ({"total_budget": "2885.53", "basic_expenditure": "1671.24"} | figures).items()]
    return Document(doc_id="report", source_path="r.pdf", sha256="r" * 64,
                    header=Header(form_type="report", year=2024, unit_name=unit), facts=facts)


def test_a_scan_and_its_pdf_that_agree_are_both_compared():
    scan, pdf = unit_table("scan", "上海市闵行区虹桥镇社区党群服务中心"), unit_table("pdf", "上海市闵行区虹桥镇社区党群服务中心")
    out = cross_check([scan, pdf, report("虹桥镇社区党群服务中心", basic_expenditure="1617.24")])
    assert {f.rule_id for f in out["report"]} == {"X3"}
    assert {f.rule_id for f in out["scan"]} == {f.rule_id for f in out["pdf"]} == {"X3"}


def test_tables_of_one_unit_that_disagree_are_not_guessed_between():
    a = unit_table("a", "上海市闵行区虹桥镇社区党群服务中心")
    b = unit_table("b", "上海市闵行区虹桥镇社区党群服务中心", fiscal="28855329.00")
    (x0,) = cross_check([a, b, report("虹桥镇社区党群服务中心")])["report"]
    assert (x0.rule_id, x0.severity, x0.observed) == ("X0", "warning", "a, b")


def test_a_bare_kind_of_body_does_not_pair():
    assert cross_check([unit_table("t", "上海市闵行区虹桥镇社区党群服务中心"),
                        report("党群服务中心", total_budget="1.00")]) == {}


def test_a_report_with_its_own_table_is_checked_against_it():
    mixed = unit_table("mixed", "上海市闵行区虹桥镇社区党群服务中心").model_copy(
        update={"facts": report("").facts})
    assert cross_check([mixed]) == {}
    wrong = mixed.model_copy(update={"facts": report("", basic_expenditure="1617.24").facts})
    assert {f.rule_id for f in cross_check([wrong])["mixed"]} == {"X3"}
