"""Records → the contract's CSV tables: the columns, each value's text, what a spreadsheet must not
take for a formula.

Every CSV is rebuilt from all records in the output folder and swapped in whole (`OutputFolder`'s
atomic write), so a re-run replaces a document's rows instead of duplicating them.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from ..records import Document
from .folder import OutputFolder, atomic_write

if TYPE_CHECKING:
    from ..forms.catalog import Catalogue

CSV_COLUMNS: dict[str, list[str]] = {
    "documents": ["doc_id", "source_path", "sha256", "form_type", "year", "unit_name", "project_name",
                  "supervising_dept", "pages", "status", "total_max_score", "total_score", "grade",
                  "n_errors", "n_warnings", "message", "engine", "form_index", "first_page", "last_page"],
    "funding": ["doc_id", "item", "amount_unit", "initial_budget", "budget", "executed", "execution_rate",
                "max_score", "score", "needs_review"],
    "indicators": ["doc_id", "seq", "page", "level1", "level1_weight", "level2", "level3", "target",
                   "target_op", "target_value", "target_unit", "actual", "actual_value", "actual_unit",
                   "max_score", "score", "deviation_reason", "confidence", "needs_review", "note"],
    "facts": ["doc_id", "key", "value", "unit", "text"],
    "findings": ["doc_id", "rule_id", "severity", "seq", "field", "message", "expected", "observed"],
    "corrections": ["doc_id", "page", "seq", "field", "raw", "corrected", "kind", "confidence"],
    "tables": ["doc_id", "page", "table", "row", "col", "row_span", "col_span", "text", "confidence", "needs_review"],
}


def cell(value: object) -> str:
    """Contract formatting: plain decimals as written, booleans lower-case, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != 1.0 else "1"
    return str(value).replace("\r", " ").replace("\n", " ")


def table_rows(doc: Document, catalogue: Catalogue) -> dict[str, list[dict[str, object]]]:
    """The CSV rows one document contributes to each table; its grade by the run's catalogue (the
    bands rule G1 checks)."""
    h = doc.header
    total = doc.totals.score
    rows: dict[str, list[dict[str, object]]] = {
        "documents": [{
            "doc_id": doc.doc_id, "source_path": doc.source_path, "sha256": doc.sha256,
            "form_type": h.form_type, "year": h.year, "unit_name": h.unit_name, "project_name": h.project_name,
            "supervising_dept": h.supervising_dept, "pages": doc.pages, "status": doc.status,
            "total_max_score": doc.totals.max_score, "total_score": total, "grade": "" if total is None else catalogue.grade(total),
            "n_errors": doc.n_errors, "n_warnings": doc.n_warnings, "message": doc.message, "engine": doc.engine,
            "form_index": doc.form_index, "first_page": doc.first_page, "last_page": doc.last_page,
        }],
        "funding": [{"doc_id": doc.doc_id, **f.model_dump(exclude={"provenance"})} for f in doc.funding],
        "indicators": [{"doc_id": doc.doc_id, **i.model_dump(exclude={"provenance"})} for i in doc.indicators],
        "facts": [{"doc_id": doc.doc_id, **f.model_dump(exclude={"provenance"})} for f in doc.facts],
        "findings": [{"doc_id": doc.doc_id, **f.model_dump()} for f in doc.findings],
        "corrections": [{"doc_id": doc.doc_id, **c.model_dump()} for c in doc.corrections],
        "tables": [{"doc_id": doc.doc_id, "page": t.page, "table": t.table, **c.model_dump(exclude={"provenance"})}
                   for t in doc.tables for c in t.cells],
    }
    return rows


# What a spreadsheet takes for the start of a formula when it opens a CSV (a crafted text layer
# could put `=HYPERLINK(…)` in a 偏差原因).
FORMULA_START = ("=", "+", "-", "@", "\t")
PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
# Columns whose contract text is the form's cell text itself, `=100.00(%)` (a 年度指标值) included:
# they stay verbatim, and perfscan.xlsx is the file to open in a spreadsheet (README).
VERBATIM = {("indicators", "target"), ("indicators", "target_op"), ("indicators", "actual"), ("tables", "text"),
            ("corrections", "raw"), ("corrections", "corrected")}


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet would take for a formula, with a leading `'` (which shows it is text); a
    plain number such as `-5.00`, and a sign alone (`-` for “none”), stay as they are."""
    if text.startswith(FORMULA_START) and text not in ("-", "+") and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_bytes(name: str, rows: list[dict[str, object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS[name])
    columns = [(col, (name, col) in VERBATIM) for col in CSV_COLUMNS[name]]
    for row in rows:
        writer.writerow([cell(row.get(col)) if verbatim else spreadsheet_safe(cell(row.get(col)))
                         for col, verbatim in columns])
    return buf.getvalue().encode("utf-8-sig")


def rebuild_tables(folder: OutputFolder, docs: list[Document], catalogue: Catalogue) -> dict[str, list[dict[str, object]]]:
    """Every CSV from every record in the folder, each swapped in atomically."""
    tables: dict[str, list[dict[str, object]]] = {name: [] for name in CSV_COLUMNS}
    for doc in docs:
        for name, rows in table_rows(doc, catalogue).items():
            tables[name].extend(rows)
    for name, rows in tables.items():
        atomic_write(folder.csv_path(name), csv_bytes(name, rows))
    return tables
