"""Outputs of the contract, written atomically.

The per-document record (`records/DOC_ID.json`) is the unit of truth: it is written first (temp
file, fsync, rename), then every CSV is rebuilt from all records in the folder and swapped in the
same way. So a re-run replaces a document's rows instead of duplicating them, and a kill at any
moment leaves each file either old or new, never half-written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..records import Document

if TYPE_CHECKING:
    from ..forms.catalog import Catalogue

WORKBOOK_NAME = "perfscan.xlsx"  # the CSV tables as one workbook (workbook.py), written beside them
QUARANTINE = "quarantine"  # damaged files of the output folder, moved aside (see `quarantine`)

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


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; outputs are shared like any written file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def page_image_name(doc_id: str, page: int) -> str:
    """A page image's path in the output folder, relative to it: the name the document's record
    gives it in `page_images`, so a page that arrives before its record is written where the
    record will point."""
    return f"pages/{doc_id}-p{page}.jpg"


def page_image_names(out_dir: Path, doc_id: str) -> set[str]:
    """The page images of `doc_id` in the output folder, as relative names."""
    return {f"pages/{p.name}" for p in (out_dir / "pages").glob(f"{doc_id}-p*.jpg")}


def write_record(out_dir: Path, doc: Document, page_jpegs: dict[int, bytes] | None = None) -> None:
    """A document's own files: its page images (for review) then its record, the commit point."""
    for page, data in (page_jpegs or {}).items():
        atomic_write(out_dir / doc.page_images[page], data)
    atomic_write(out_dir / "records" / f"{doc.doc_id}.json", doc.model_dump_json(indent=1).encode("utf-8"))


def write_records(out_dir: Path, docs: list[Document], page_jpegs: dict[int, bytes] | None = None) -> None:
    """A file's records, one per form it binds: page images, the later forms' records, the first
    form's record, then the records of forms an earlier reading of the file found and this one
    did not. The batch's state row, written after this, is what commits them together: a kill in
    between leaves the file not done, and the next run rewrites them all."""
    names = {page: name for doc in docs for page, name in doc.page_images.items()}
    for page, data in (page_jpegs or {}).items():
        atomic_write(out_dir / names[page], data)
    for doc in [*docs[1:], docs[0]]:
        write_record(out_dir, doc)
    written = {f"{doc.doc_id}.json" for doc in docs}
    for path in form_records(out_dir, docs[0].doc_id):
        if path.name not in written:
            path.unlink(missing_ok=True)


def form_records(out_dir: Path, doc_id: str) -> list[Path]:
    """The records of the forms of the file whose first form is `doc_id` (`ID.json`, `ID-2.json`, …)."""
    folder = out_dir / "records"
    return sorted([*folder.glob(f"{doc_id}.json"), *folder.glob(f"{doc_id}-*.json")])


def load_records(out_dir: Path) -> tuple[list[Document], list[Path]]:
    """Every record in the folder, and the record files that are damaged (truncated, not JSON, not
    a record): those are the caller's to set aside, so that one bad file cannot stop every run."""
    folder = out_dir / "records"
    if not folder.is_dir():
        return [], []
    docs: list[Document] = []
    damaged: list[Path] = []
    for path in sorted(folder.glob("*.json")):
        try:
            docs.append(Document.model_validate_json(path.read_bytes()))
        except ValueError:  # pydantic's ValidationError, bad UTF-8
            damaged.append(path)
    return sorted(docs, key=lambda d: (d.source_path, d.doc_id)), damaged


def quarantine(out_dir: Path, path: Path) -> str:
    """Move a damaged file of the output folder into `quarantine/`, stamped with the time, rather
    than delete it: it may be all that is left of someone's work, and it shows what went wrong.
    Returns where it went, relative to the output folder."""
    folder = out_dir / QUARANTINE
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = folder / f"{path.name}.{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = folder / f"{path.name}.{stamp}-{n}"
    os.replace(path, dest)
    return str(dest.relative_to(out_dir))


def rebuild_tables(out_dir: Path, docs: list[Document], catalogue: Catalogue) -> dict[str, list[dict[str, object]]]:
    """Every CSV from every record in the folder, each swapped in atomically."""
    tables: dict[str, list[dict[str, object]]] = {name: [] for name in CSV_COLUMNS}
    for doc in docs:
        for name, rows in table_rows(doc, catalogue).items():
            tables[name].extend(rows)
    for name, rows in tables.items():
        atomic_write(out_dir / f"{name}.csv", csv_bytes(name, rows))
    return tables
