"""perfscan.xlsx: one sheet per table, Chinese intact, text never turned into formulas."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from pipeline.outputs.workbook import write_xlsx

TABLES = ("documents", "funding", "indicators", "facts", "findings", "corrections")


def frames() -> dict[str, pd.DataFrame]:
    tables = {name: pd.DataFrame({"doc_id": pd.Series([], dtype=object)}) for name in TABLES}
    tables["documents"] = pd.DataFrame([{
        "doc_id": "0123456789012345", "unit_name": "上海市闵行区虹桥镇社区党群服务中心", "year": 2024,
        "total_score": Decimal("100.00"), "grade": "优", "message": "2 errors (I3, F1)\x0b",
    }])
    tables["indicators"] = pd.DataFrame([
        {"doc_id": "0123456789012345", "seq": np.int64(1), "level3": "“两新”培训人次", "target": "=100.00(%)",
         "target_value": Decimal("100.00"), "max_score": Decimal("7.50"), "confidence": 0.87, "needs_review": True},
        {"doc_id": "0123456789012345", "seq": np.int64(2), "level3": "+1 人", "target": "≤50000元",
         "target_value": None, "max_score": Decimal("0.5"), "confidence": float("nan"), "needs_review": False},
    ])
    return tables


def test_one_sheet_per_table_with_values_as_written(tmp_path):
    path = write_xlsx(tmp_path, frames())
    assert path == tmp_path / "perfscan.xlsx"
    book = load_workbook(path)
    assert book.sheetnames == list(TABLES)
    docs = book["documents"]
    assert [c.value for c in docs[1]] == ["doc_id", "unit_name", "year", "total_score", "grade", "message"]
    row = [c.value for c in docs[2]]
    assert row[:3] == ["0123456789012345", "上海市闵行区虹桥镇社区党群服务中心", 2024]  # doc_id stays text
    assert row[3] == 100 and docs["D2"].number_format == "0.00"
    assert row[4:] == ["优", "2 errors (I3, F1)"]                                   # control char dropped
    inds = book["indicators"]
    first, second = [[c for c in r] for r in inds.iter_rows(min_row=2)]
    assert first[3].value == "=100.00(%)" and first[3].data_type == "s"            # not a formula
    assert second[2].value == "+1 人" and second[2].data_type == "s"
    assert first[5].value == 7.5 and first[5].number_format == "0.00"
    assert second[5].number_format == "0.0" and second[4].value is None and second[6].value is None
    assert first[7].value is True and first[1].value == 1
    assert inds.freeze_panes == "A2" and inds.auto_filter.ref == "A1:H3"
    assert [c.value for c in book["facts"][1]] == ["doc_id"] and book["facts"].max_row == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_rewrite_replaces_the_workbook(tmp_path):
    write_xlsx(tmp_path, frames())
    smaller = {"documents": frames()["documents"]}
    write_xlsx(tmp_path, smaller)
    assert load_workbook(tmp_path / "perfscan.xlsx").sheetnames == ["documents"]
