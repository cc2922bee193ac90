"""Documents that are not forms: skipped (never taken for a form, never failing the run), each
saying what it held, and their ruled tables kept cell for cell — in tables.csv and as grid sheets."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.cli import main
from pipeline.forms import build_form, split_forms
from pipeline.records import Document
from pipeline.types import Cell, TableGrid
from tests.batchfiles import read_csv
from tests.conftest import REPO

FOLDER = REPO / "fixtures" / "notforms"
TRUTH = REPO / "fixtures" / "truth" / "notforms"


def truth(name: str) -> Document:
    return Document.model_validate_json((TRUTH / f"{name}.json").read_bytes())


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("notforms")
    assert main(["run", str(FOLDER), "--out", str(out), "--xlsx"]) == 0  # exit 0: skipped is no failure
    return out


@pytest.mark.slow
def test_every_document_is_skipped_saying_what_it_held(run):
    docs = {Path(d["source_path"]).stem: d for d in read_csv(run / "documents.csv")}
    assert sorted(docs) == sorted(p.stem for p in FOLDER.glob("*.pdf")) and len(docs) == 6
    for name, d in docs.items():
        assert (d["status"], d["form_type"], d["doc_id"]) == ("skipped", "unknown", truth(name).doc_id), name
        tables = truth(name).tables
        shape = f"1 table (p1 {tables[0].n_rows}×{tables[0].n_cols})" if tables else "no table"
        assert d["message"].startswith(f"not a form perfscan knows: 1 page, {shape}, first text “"), d["message"]
    for table in ("funding", "indicators", "facts", "findings"):
        assert read_csv(run / f"{table}.csv") == [], table
    index = (run / "review" / "index.html").read_text("utf-8")
    assert "6 skipped (not a form)" in index and "Skipped: not a form perfscan knows (6;" in index


@pytest.mark.slow
def test_their_tables_come_out_cell_for_cell(run):
    rows = read_csv(run / "tables.csv")
    for path in sorted(TRUTH.glob("*.json")):
        want = truth(path.stem)
        got = sorted((int(r["row"]), int(r["col"]), int(r["row_span"]), int(r["col_span"]), r["text"])
                     for r in rows if r["doc_id"] == want.doc_id)
        expected = sorted((c.row, c.col, c.row_span, c.col_span, c.text) for t in want.tables for c in t.cells)
        assert got == expected, path.stem
    book = load_workbook(run / "perfscan.xlsx")
    budget = book[f"{truth('budget_scan').doc_id} p1 t1"]
    assert {str(r) for r in budget.merged_cells.ranges} == {"A1:B1", "C1:D1", "A6:A7", "B6:B7"}
    assert (budget["A1"].value, budget["C3"].value, budget["D8"].value) == ("收入", "一、一般公共服务支出", 3105.53)
    assert "tables" in book.sheetnames


def page(number: int, *rows: list[str]) -> TableGrid:
    cells = tuple(Cell(page=number, row=r, col=c, text=t) for r, row in enumerate(rows) for c, t in enumerate(row) if t)
    return TableGrid(page=number, n_rows=len(rows), n_cols=max(len(r) for r in rows), cells=cells)


INDICATOR_HEADER = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"]


def test_labels_alone_are_no_form_but_a_title_or_the_indicator_header_is():
    receipt = page(1, ["单位名称", "某某中心", "项目名称", "办公设备维护"], ["品名", "单位", "数量", "金额"])
    letter = page(1, ["关于报送2024年度项目支出绩效自评表的函"], ["区财政局："])
    assert build_form([receipt]).header.form_type == "unknown"
    assert build_form([letter]).header.form_type == "unknown"
    untitled = page(1, ["项目名称", "某项目", "实施单位", "某中心"], INDICATOR_HEADER)
    assert build_form([untitled]).header.form_type == "project"
    titled = page(1, ["2024年度项目支出绩效自评表（2024年度）"], ["项目名称", "某项目"])
    assert build_form([titled]).header.form_type == "project"
    # a unit form whose title the seal took: its labels say which form, not a goal sentence's words
    unit = page(1, ["单位名称", "某中心"], ["整体支出规模（元）", "全年预算数"],
                ["年度总体目标", "确保项目资金使用规范"], INDICATOR_HEADER)
    assert build_form([unit]).header.form_type == "unit_overall"


def test_forms_are_split_where_another_title_or_header_block_begins():
    cover = page(1, ["报送说明"])
    a = page(2, ["项目支出绩效自评表"], ["项目名称", "甲项目"], INDICATOR_HEADER)
    a_more = page(3, INDICATOR_HEADER, ["产出指标", "数量指标", "培训人次", "100", "100", "10", "10"])
    b = page(4, ["项目支出绩效自评表"], ["项目名称", "乙项目"], INDICATOR_HEADER)
    untitled = page(5, ["项目名称", "丙项目"], INDICATOR_HEADER)
    unit = page(6, ["部门（单位）整体支出绩效自评表"], ["单位名称", "某中心"])
    forms = split_forms([cover, a, a_more, b, untitled, unit])
    assert [[g.page for g in form] for form in forms] == [[1, 2, 3], [4], [5], [6]]
    # a title repeated on every page (a report's running header, print titles) continues the form
    running = [page(n, ["某中心2024年度整体支出绩效自评报告"], [f"正文第{n}页。"]) for n in (1, 2, 3)]
    assert len(split_forms(running)) == 1
    assert len(split_forms([a, page(3, ["项目支出绩效自评表"], ["项目名称", "甲项目"])])) == 1
