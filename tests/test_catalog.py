"""The form catalogue (configs/forms.yaml) is the one place a form is described: a header variant or
another form added to a copy of it is read, with no code changed; and no module spells what the
catalogue owns."""

from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipeline.checks.registry import REGISTRY, check
from pipeline.cli import main
from pipeline.errors import UsageError
from pipeline.forms import build_form, split_forms
from pipeline.forms.catalog import DEFAULT_CATALOGUE, default_catalogue, load_catalogue
from pipeline.ingest.textinput import text_to_grids
from pipeline.outputs.export import table_rows
from pipeline.records import Document
from tests.batchfiles import fixture, read_csv
from tests.conftest import REPO

# A district's project form whose 三级 column is headed 指标名称, under a title of its own wording.
FORM = "\n".join([
    "{title}",
    "（2024年度）",
    "项目名称\t社区服务项目\t主管部门\t某区民政局",
    "实施单位\t某区社区服务中心",
    "一级指标\t二级指标\t指标名称\t年度指标值\t实际完成值\t分值\t得分\t偏差原因分析",
    "产出指标\t数量指标\t培训人次\t≥100人次\t120人次\t20.00\t20.00\t",
    "效益指标\t社会效益指标\t服务覆盖率\t≥90%\t95%\t30.00\t30.00\t",
])


def catalogue_with(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "forms.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_header_variant_is_one_synonym_in_the_catalogue(tmp_path):
    grids = text_to_grids(FORM.format(title="项目支出绩效自评表"))
    assert build_form(grids).indicators == []  # 指标名称 names no column: no indicator table found

    def add_synonym(data):
        data["columns"]["indicators"]["level3"] = "三级|指标名称"

    variant = load_catalogue(catalogue_with(tmp_path, add_synonym))
    records = build_form(grids, variant)
    assert records.header.form_type == "project"
    assert [(i.level1, i.level2, i.level3, i.max_score) for i in records.indicators] == [
        ("产出指标", "数量指标", "培训人次", Decimal("20.00")),
        ("效益指标", "社会效益指标", "服务覆盖率", Decimal("30.00")),
    ]


def test_another_form_is_one_entry_in_the_catalogue(tmp_path):
    grids = text_to_grids(FORM.format(title="项目绩效目标自评表").replace("指标名称", "三级指标"))
    assert build_form(grids).header.form_type == "project"  # by its header block's labels

    def add_form(data):
        entry = dict(data["forms"]["project"])
        entry.update(name="项目绩效目标自评表", title="项目绩效目标自评表$", rules=["H1", "I4", "S2"])
        data["forms"]["district_project"] = entry

    variant = load_catalogue(catalogue_with(tmp_path, add_form))
    assert len(split_forms(grids, variant)) == 1
    records = build_form(grids, variant)
    assert records.header.form_type == "district_project"
    assert (records.header.project_name, records.header.unit_name, records.header.year) == (
        "社区服务项目", "某区社区服务中心", 2024)
    assert len(records.indicators) == 2
    doc = Document(doc_id="x", source_path="x", sha256="x", header=records.header, indicators=records.indicators)
    # Its rules are the ones its entry lists: the missing 总分 row (S2), nothing of the project form's money block.
    assert {f.rule_id for f in check(doc, variant)} == {"S2"}


def test_grade_bands_are_the_catalogues_for_documents_and_rules():
    bands = default_catalogue().grades
    for band in bands:
        doc = Document(doc_id="x", source_path="x", sha256="x")
        doc = doc.model_copy(update={"totals": doc.totals.model_copy(update={"score": band.min})})
        (row,) = table_rows(doc, default_catalogue())["documents"]
        assert row["grade"] == band.grade == default_catalogue().grade(band.min)
    assert default_catalogue().grade(Decimal(-1)) == bands[-1].grade


def test_a_runs_own_catalogue_grades_its_documents(tmp_path):
    """A user's `forms_file` with bands of its own: documents.csv grades by them, as rule G1 does."""

    def letters(data):
        data["grades"] = [{"grade": g, "min": m} for g, m in (("A", 95), ("B", 85), ("C", 60), ("D", 0))]

    settings = tmp_path / "perfscan.yaml"
    settings.write_text(yaml.safe_dump({"rules": {"forms_file": str(catalogue_with(tmp_path, letters))}}),
                        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(fixture("u000_digital")), "--out", str(out), "--config", str(settings)]) in (0, 2)
    (row,) = read_csv(out / "documents.csv")
    total = Decimal(row["total_score"])
    assert row["grade"] == ("A" if total >= 95 else "B" if total >= 85 else "C" if total >= 60 else "D")
    main(["rebuild", str(out), "--config", str(settings)])
    assert read_csv(out / "documents.csv")[0]["grade"] == row["grade"]


def test_the_catalogue_names_only_what_exists(tmp_path):
    catalogue = default_catalogue()
    for name, spec in catalogue.forms.items():
        assert set(spec.rules) <= {r.id for r in REGISTRY.values() if r.fn is not None}, name
        if spec.cross_check is not None:
            assert set(spec.cross_check.figures) <= {r.id for r in REGISTRY.values() if r.fn is None}
            assert {i for f in spec.cross_check.figures.values() for i in f.items} <= set(
                catalogue.forms[spec.cross_check.table].funding.items)
    assert set(catalogue.untitled_form.columns) <= set(catalogue.columns.indicators)

    def bad_unit_label(data):
        data["forms"]["project"]["unit_label"] = "承办单位"

    with pytest.raises(UsageError, match="unit_label"):
        load_catalogue(catalogue_with(tmp_path, bad_unit_label))


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


# Words of the forms held for another purpose: post-correction's lexicon (what a look-alike fix may
# produce), the narrative report's fact patterns (what a sentence says), the review page's labels for
# people; and the catalogue's own loader.
NOT_FORM_FACTS = {"correct.py", "forms/report.py", "outputs/review.py", "forms/catalog.py"}


def test_form_types_items_grades_titles_and_column_words_are_spelled_in_the_catalogue_only():
    catalogue = default_catalogue()
    owned = set(catalogue.forms) | {band.grade for band in catalogue.grades}
    for spec in catalogue.forms.values():
        owned |= set(spec.funding.items) | {spec.title, spec.name}
    # A synonym that is a plain word (一级, 权重) is also how notes and findings name that column for
    # people; the patterns (`^分值|分值$`, `全年执行|执行数`, `^单位名称$`) are the catalogue's alone.
    for roles in (catalogue.columns.indicators, catalogue.columns.funding, catalogue.columns.header):
        owned |= {pattern for pattern in roles.values() if re.search(r"[\^$|()\[\].*+?]", pattern)}
    package = REPO / "pipeline"
    spelled = [
        f"{path.relative_to(package)}:{line}: {text!r}"
        for path in sorted(package.rglob("*.py")) if str(path.relative_to(package)) not in NOT_FORM_FACTS
        for line, text in _literals(path) if text in owned
    ]
    assert spelled == []
