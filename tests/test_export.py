"""Records → CSV tables: contract formatting, CSVs rebuilt whole from the records. Real files in
temporary folders."""

from __future__ import annotations

from decimal import Decimal

from pipeline.forms.catalog import default_catalogue
from pipeline.outputs.export import cell, csv_bytes, rebuild_tables
from pipeline.outputs.folder import OutputFolder
from pipeline.records import Document, FundingLine, Header, Indicator, Totals


def doc(doc_id: str, source: str = "/in/a.pdf", **update) -> Document:
    base = Document(
        doc_id=doc_id, source_path=source, sha256=doc_id.split("-")[0] * 4, pages=1,
        header=Header(form_type="project", year=2024, unit_name="某中心", project_name="项目"),
        funding=[FundingLine(item="年度资金总额", amount_unit="万元", budget=Decimal("459.80"))],
        indicators=[Indicator(seq=1, level3="培训人次", max_score=Decimal("20.00"), score=Decimal("7.5"))],
        totals=Totals(max_score=Decimal("100"), score=Decimal("91.50")),
    )
    return base.model_copy(update=update)


def test_cells_are_written_as_the_contract_says():
    assert [cell(None), cell(True), cell(False), cell(Decimal("7.50")), cell(Decimal("28855329.62"))] == [
        "", "true", "false", "7.50", "28855329.62"]
    assert [cell(1.0), cell(0.8512), cell(0.5), cell("two\nlines")] == ["1", "0.8512", "0.5", "two lines"]


def test_csvs_have_a_bom_crlf_rows_and_the_contracts_columns():
    data = csv_bytes("funding", [{"doc_id": "x", "item": "年度资金总额", "budget": Decimal("459.80"),
                                  "needs_review": False}])
    assert data.startswith("\ufeff".encode())
    header, line, end = data.decode("utf-8-sig").split("\r\n")
    assert header.startswith("doc_id,item,amount_unit,initial_budget,budget,executed")
    assert line == "x,年度资金总额,,,459.80,,,,,false" and end == ""


def test_tables_are_rebuilt_whole_from_the_records(tmp_path):
    docs = [doc("ab12"), doc("cd34", source="/in/b.pdf")]
    tables = rebuild_tables(OutputFolder(tmp_path), docs, default_catalogue())
    assert [len(tables[n]) for n in ("documents", "funding", "indicators", "findings")] == [2, 2, 2, 0]
    rows = (tmp_path / "documents.csv").read_text("utf-8-sig").splitlines()
    assert rows[1].split(",")[:4] == ["ab12", "/in/a.pdf", "ab12ab12ab12ab12", "project"]
    assert ",91.50,优," in rows[1]  # total_score and its grade
    rebuild_tables(OutputFolder(tmp_path), docs[:1], default_catalogue())
    assert len((tmp_path / "indicators.csv").read_text("utf-8-sig").splitlines()) == 2  # rows replaced, not added
