"""Every born-digital fixture round-trips through `perfscan run` to its ground truth, every field exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.records import Document
from tests.benchmark.scoring import truth_documents
from tests.conftest import REPO

FIXTURES = REPO / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
BORN_DIGITAL = sorted(name for name, meta in MANIFEST.items() if meta["kind"] == "born_digital")

HEADER_FIELDS = ("form_type", "year", "unit_name", "project_name", "supervising_dept")
FUNDING_FIELDS = ("item", "amount_unit", "initial_budget", "budget", "executed", "execution_rate", "max_score", "score")
INDICATOR_FIELDS = ("seq", "page", "level1", "level1_weight", "level2", "level3", "target", "target_op",
                    "target_value", "target_unit", "actual", "actual_value", "actual_unit", "max_score", "score",
                    "deviation_reason")


def _fields(model, names) -> dict[str, str]:
    """Values as the CSVs show them (Decimal digits as written), so 7.50 ≠ 7.5."""
    return {n: (None if getattr(model, n) is None else str(getattr(model, n))) for n in names}


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("born_digital")
    paths = [str(FIXTURES / "docs" / f"{name}.pdf") for name in BORN_DIGITAL]
    assert main(["run", *paths, "--out", str(out)]) == 0
    return out


def test_there_are_born_digital_fixtures_of_both_forms():
    assert {MANIFEST[n]["form"] for n in BORN_DIGITAL} >= {"unit_overall", "project"}


@pytest.mark.parametrize(("name", "form"), [(n, k) for n in BORN_DIGITAL
                                             for k in range(len(truth_documents(FIXTURES / "truth" / f"{n}.json")))])
def test_round_trip_every_field_exact(output, name, form):
    truth = truth_documents(FIXTURES / "truth" / f"{name}.json")[form]
    got = Document.model_validate_json((output / "records" / f"{truth.doc_id}.json").read_bytes())
    assert got.engine == "camelot", "a born-digital page must take the text-layer route"
    assert _fields(got.header, HEADER_FIELDS) == _fields(truth.header, HEADER_FIELDS)
    assert [_fields(f, FUNDING_FIELDS) for f in got.funding] == [_fields(f, FUNDING_FIELDS) for f in truth.funding]
    assert len(got.indicators) == len(truth.indicators)
    for g, t in zip(got.indicators, truth.indicators):
        assert _fields(g, INDICATOR_FIELDS) == _fields(t, INDICATOR_FIELDS), f"row {t.seq}"
    assert _fields(got.totals, ("max_score", "score")) == _fields(truth.totals, ("max_score", "score"))
    assert (got.pages, got.form_index, got.first_page, got.last_page) == (
        truth.pages, truth.form_index, truth.first_page, truth.last_page)
