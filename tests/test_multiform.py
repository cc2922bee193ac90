"""A file that binds several forms: one record per form, each exactly as the form filed on its own.

b001_scan binds the scanned pages of p103_scan, p104_scan and u000_scan byte for byte, so every row
of every table must equal its twin's once the ids and the page numbers are set aside. The same run
shows that tables.csv holds a known form's indicator grid with the texts indicators.csv has.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.outputs.folder import OutputFolder
from pipeline.records import Document
from tests.batchfiles import read_csv
from tests.benchmark.scoring import truth_documents
from tests.conftest import REPO

FIXTURES = REPO / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text("utf-8"))
BOUND = "b001_scan"
TWINS = [part["twin"] for part in MANIFEST[BOUND]["forms"]]
TABLES = ("documents", "funding", "indicators", "facts", "findings", "corrections", "tables")
NAMING = ("doc_id", "source_path", "sha256", "form_index", "first_page", "last_page")  # the file, not the form


def pdf(name: str) -> Path:
    return FIXTURES / "docs" / f"{name}.pdf"


def doc_id(name: str) -> str:
    return truth_documents(FIXTURES / "truth" / f"{name}.json")[0].doc_id


def rows_of(out: Path, doc: str, first_page: int) -> dict[str, list[dict[str, str]]]:
    """A form's rows in every table, without the columns that name its file, pages counted from the
    form's first page."""
    tables = {}
    for table in TABLES:
        rows = []
        for r in read_csv(out / f"{table}.csv"):
            if r["doc_id"] != doc:
                continue
            r = {k: v for k, v in r.items() if k not in NAMING}
            if r.get("page"):
                r["page"] = str(int(r["page"]) - first_page + 1)
            rows.append(r)
        tables[table] = rows
    return tables


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("multiform")
    assert main(["run", str(pdf(BOUND)), *(str(pdf(n)) for n in TWINS), "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_a_bound_file_gives_one_record_per_form_each_as_its_twin(run):
    forms = truth_documents(FIXTURES / "truth" / f"{BOUND}.json")
    docs = [r for r in read_csv(run / "documents.csv") if r["source_path"].endswith(f"{BOUND}.pdf")]
    assert [(d["doc_id"], d["form_index"], d["first_page"], d["last_page"]) for d in docs] == [
        (f.doc_id, str(f.form_index), str(f.first_page), str(f.last_page)) for f in forms]
    assert [d["form_type"] for d in docs] == ["project", "project", "unit_overall"]
    for form, twin in zip(forms, TWINS, strict=True):
        got, want = rows_of(run, form.doc_id, form.first_page), rows_of(run, doc_id(twin), 1)
        assert got["indicators"] and got["findings"] and got["tables"], twin
        assert got == want, twin
    # Page images are the file's (named by its first form), each shown by the form it belongs to.
    records = [Document.model_validate_json((run / "records" / f"{f.doc_id}.json").read_bytes()) for f in forms]
    assert [sorted(r.page_images) for r in records] == [[1], [2], [3, 4]]
    assert all(name.startswith(f"pages/{forms[0].doc_id}-p") for r in records for name in r.page_images.values())
    assert all((run / name).is_file() for r in records for name in r.page_images.values())


@pytest.mark.slow
def test_a_bound_file_is_one_file_for_reruns_force_and_the_state(run):
    forms = truth_documents(FIXTURES / "truth" / f"{BOUND}.json")
    with sqlite3.connect(run / "state.sqlite") as db:
        assert db.execute("SELECT doc_id FROM documents WHERE source_path LIKE ?", (f"%{BOUND}.pdf",)).fetchall() == [
            (forms[0].doc_id,)]
    before = {f.doc_id: (run / "records" / f"{f.doc_id}.json").read_bytes() for f in forms}
    assert main(["run", str(pdf(BOUND)), "--out", str(run)]) == 0  # done: nothing redone, nothing lost
    assert {d: (run / "records" / f"{d}.json").read_bytes() for d in before} == before
    assert main(["run", str(pdf(BOUND)), "--out", str(run), "--force"]) == 0
    assert sorted(p.stem for p in (run / "records").glob(f"{forms[0].doc_id}*.json")) == sorted(before)
    assert sum(r["source_path"].endswith(f"{BOUND}.pdf") for r in read_csv(run / "documents.csv")) == 3


@pytest.mark.slow
def test_tables_csv_holds_the_indicator_grid_as_indicators_csv_reads_it(run):
    """Every indicator row of a scanned form is a row of its grid in tables.csv, cell for cell (a
    merged cell's text counted on every row it spans, as indicators.csv counts it)."""
    unit = doc_id("u000_scan")
    cells: dict[tuple[str, str, int], set[str]] = {}
    for c in read_csv(run / "tables.csv"):
        if c["doc_id"] == unit and c["text"]:
            for row in range(int(c["row"]), int(c["row"]) + int(c["row_span"])):
                cells.setdefault((c["page"], c["table"], row), set()).add(c["text"])
    grid_rows = list(cells.values())
    indicators = [r for r in read_csv(run / "indicators.csv") if r["doc_id"] == unit]
    assert len(indicators) == 35
    fields = ("level3", "target", "actual", "max_score", "score", "deviation_reason")
    for ind in indicators:
        texts = {ind[f] for f in fields if ind[f]}
        assert any(texts <= row for row in grid_rows), (ind["seq"], texts)
    labels = {ind[f] for ind in indicators for f in ("level1", "level2") if ind[f]}
    assert labels <= set().union(*grid_rows)


def test_a_file_read_again_with_fewer_forms_loses_the_records_it_no_longer_has(tmp_path):
    first = Document(doc_id="0123456789abcdef", source_path="a.pdf", sha256="0123456789abcdef" + "0" * 48)
    forms = [first, *(first.model_copy(update={"doc_id": f"{first.doc_id}-{k}", "form_index": k}) for k in (2, 3))]
    OutputFolder(tmp_path).write_records(forms)
    OutputFolder(tmp_path).write_records([first.model_copy(update={"doc_id": "fedcba9876543210"})])  # another file
    assert len(list((tmp_path / "records").glob("*.json"))) == 4
    OutputFolder(tmp_path).write_records(forms[:2])
    assert sorted(p.stem for p in (tmp_path / "records").glob("*.json")) == [
        "0123456789abcdef", "0123456789abcdef-2", "fedcba9876543210"]
