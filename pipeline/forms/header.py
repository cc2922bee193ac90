"""Form type and header fields (year, unit, project, supervising department).

The form type comes from the title and the header words, after post-correction, so a scan that
reads `目支出绩效` or `万目名称` is still recognised as a 项目支出绩效自评表.
"""

from __future__ import annotations

import re

from ..records import FormType, Header, Provenance
from .fields import FieldReader
from .layout import Row

HEADER_LABELS = {
    "unit_name": r"^单位名称$",
    "project_name": r"^项目名称$",
    "supervising_dept": r"^主管部门$",
    "implementing_unit": r"^实施单位$",
}


def detect_form(rows: list[Row]) -> FormType:
    text = "".join(r.joined_label() for r in rows[:12])
    if re.search(r"自评报告", text) and not re.search(r"一级指标", text):
        return "report"
    if re.search(r"整体支出(绩效|规模)", text) or "单位名称" in text:
        return "unit_overall"
    if re.search(r"项目支出绩效|目支出绩效|项目名称|实施单位|项目资金", text):
        return "project"
    return "unknown"


def read_header(rows: list[Row], form_type: FormType, reader: FieldReader) -> Header:
    fields: dict[str, str] = {}
    prov: dict[str, Provenance] = {}
    year = None
    for row in rows[:12]:
        m = re.search(r"(20\d{2})\s*年度", row.joined_label())
        if m and year is None:
            year = int(m.group(1))
        for col in range(len(row.cells)):
            for name, pattern in HEADER_LABELS.items():
                if name in fields or not re.search(pattern, row.label(col)):
                    continue
                value_cells = _value_cells(row, col)
                text, p = reader.text(value_cells, "name", name)
                if text:
                    fields[name] = text
                    prov[name] = p
    unit = fields.get("implementing_unit", "") if form_type == "project" else fields.get("unit_name", "")
    if "implementing_unit" in prov:
        prov["unit_name"] = prov.pop("implementing_unit")
    return Header(
        form_type=form_type, year=year, unit_name=unit, project_name=fields.get("project_name", ""),
        supervising_dept=fields.get("supervising_dept", ""), provenance=prov,
    )


def _value_cells(row: Row, label_col: int) -> list:
    """The value of a header label is the next non-empty cell to its right (up to the next label)."""
    for col in range(label_col + 1, len(row.cells)):
        text = row.label(col)
        if not text:
            continue
        if any(re.search(p, text) for p in HEADER_LABELS.values()):
            return []
        return [row.cell(col)]
    return []
