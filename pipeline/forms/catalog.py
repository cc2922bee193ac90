"""`configs/forms.yaml` → the form catalogue: every fact about a form, read once.

What a form is — its title, the header text that names each of its columns, its money block, the
一级/二级 labels and their weights, its 投入管理 template, the grade bands of its 总分, which rules
check it — and the figures the rules compare against (tolerances, the shares a qualitative 完成值
allows) come from the YAML, never from code (`shared/domain/RULES.md` names the basis of each).
Another district's header wording is one more synonym in `columns`; another form is one more entry
in `forms`, with, at most, a detector for what its title and header block cannot tell.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..datafiles import CONFIGS
from ..errors import UsageError
from ..records import UNKNOWN

DEFAULT_CATALOGUE = CONFIGS / "forms.yaml"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeBand(_Spec):
    grade: str
    min: Decimal


class Tolerances(_Spec):
    rate: Decimal = Field(description="|stated − exact| of a 执行率 must be below this")
    amount: Decimal = Field(description="sums of amounts and scores agree to the cent")
    execution_score: Decimal = Field(description="P3: |stated − 分值×执行率| at most this")
    proportional_score: Decimal = Field(description="I6: flag a score further than this")
    report_amount: Decimal = Field(description="X*: per figure of a report, in 万元")


class QualitativeBand(_Spec):
    """A 定性 完成值 phrase and the share of 分值 it allows: [min, max) or [min, max]."""

    phrase: str
    min: Decimal
    max: Decimal
    max_inclusive: bool


class Vocabulary(_Spec):
    """The indicator framework's labels, the same on every form."""

    level1: tuple[str, ...] = Field(description="一级 labels, in the order a garbled label is matched against")
    level2_to_level1: dict[str, str] = Field(description="the 一级 each 二级 belongs to")
    note_level1: str = Field(
        description="the 一级 whose rows carry the form's note (or nothing) where others have a 三级 name"
    )

    @property
    def level2(self) -> tuple[str, ...]:
        return tuple(self.level2_to_level1)

    def canonical_level1(self, text: str) -> str:
        """The 一级 a label names (`产出指标（50分）`, or a part of a label: `产出`), else the text."""
        for name in self.level1:
            if name in text or (len(text) >= 2 and text in name):
                return name
        return text


class Columns(_Spec):
    """Column roles: the header text that names each column, as regular expressions searched in
    the header cell's corrected text without spaces. The leftmost cell matching a role is its column."""

    indicators: dict[str, str] = Field(description="the indicator table's columns, left to right as printed")
    funding: dict[str, str] = Field(description="the money block's value columns")
    header: dict[str, str] = Field(description="the header block's labels (the value is the next cell)")


class UntitledForm(_Spec):
    """A table without a readable title is a form when its header row names this many of these columns."""

    columns: list[str]
    at_least: int


class WeightGroup(_Spec):
    """一级指标 labels whose 分值 together must add up to `weight` (I3)."""

    labels: list[str]
    weight: Decimal


class InputTemplate(_Spec):
    level1: str
    level2: dict[str, Decimal]


class FundingSpec(_Spec):
    """Either sources/structure (整体: Σ sources = Σ structure) or total/parts (项目: total = Σ parts)."""

    sources: list[str] = Field(default_factory=list)
    structure: list[str] = Field(default_factory=list)
    total: str = ""
    parts: list[str] = Field(default_factory=list)

    @property
    def items(self) -> list[str]:
        return [*self.sources, *self.structure, *([self.total] if self.total else []), *self.parts]


class CrossFigure(_Spec):
    """A report figure (万元) against the sum of table items in one column (元 / 10000)."""

    fact: str
    column: str
    items: list[str]
    label: str


class CrossCheck(_Spec):
    """What a report is compared with: the table form of the same unit and year, figure by figure."""

    table: str
    figures: dict[str, CrossFigure] = Field(description="rule id → the figure it compares (X1–X5)")


class FormSpec(_Spec):
    kind: Literal["table", "report"] = Field(description="a ruled form, or a narrative report over running text")
    name: str = Field(description="the form as H1 names it")
    title: str = Field(description="regular expression a title line ends with (its year and marks taken off)")
    not_titled_over: str = Field(
        "", description="a title over a line holding this is a table's, not this form's (a report's title)"
    )
    header_labels: list[str] = Field(
        default_factory=list, description="header-block labels (their start) that say this form when no title does"
    )
    weight_column: bool = Field(False, description="its 一级 column has a 权重 column beside it")
    unit_label: str = Field("unit_name", description="the header label (a `columns.header` role) naming the unit")
    level1_under: dict[str, str] = Field(
        default_factory=dict, description="一级 of the framework printed under another one on this form"
    )
    rules: list[str] = Field(description="ids of the rules that check this form (checks/registry.py)")
    header_fields: list[str]
    total_max: Decimal | None = None
    execution_max: Decimal | None = None
    level1_groups: list[WeightGroup] = Field(default_factory=list)
    absent_weight_moves_to: dict[str, str] = Field(default_factory=dict)
    input_template: InputTemplate | None = None
    level2_to_level1: dict[str, str] = Field(default_factory=dict)
    funding: FundingSpec = Field(default_factory=FundingSpec)
    cost_level1: str = ""
    cost_level2: list[str] = Field(default_factory=list)
    cross_check: CrossCheck | None = None

    @property
    def level1_labels(self) -> set[str]:
        return {label for group in self.level1_groups for label in group.labels}

    def group_of(self, level1: str) -> WeightGroup | None:
        return next((g for g in self.level1_groups if level1 in g.labels), None)


class Catalogue(_Spec):
    grades: list[GradeBand] = Field(min_length=1, description="grade bands of the 总分, highest first")
    tolerances: Tolerances
    qualitative: list[QualitativeBand] = Field(default_factory=list)
    vocabulary: Vocabulary
    columns: Columns
    untitled_form: UntitledForm
    forms: dict[str, FormSpec] = Field(description="form type (documents.csv `form_type`) → what the form is")
    unrecognised_rules: list[str] = Field(
        default_factory=list, description="rules that check a document of no known form (that it is none)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        if UNKNOWN in self.forms:
            raise ValueError(f"{UNKNOWN!r} is what a document of no known form is, not a form")
        for name, spec in self.forms.items():
            if spec.unit_label not in self.columns.header:
                raise ValueError(f"form {name}: unit_label {spec.unit_label!r} is not a columns.header role")
            if spec.cross_check is not None and spec.cross_check.table not in self.forms:
                raise ValueError(f"form {name}: cross_check.table {spec.cross_check.table!r} is not a form")
        return self

    def rules_for(self, form_type: str) -> frozenset[str]:
        spec = self.forms.get(form_type)
        return frozenset(spec.rules if spec is not None else self.unrecognised_rules)

    def grade(self, total: Decimal) -> str:
        """The first band whose minimum the total reaches; the last band below every minimum."""
        return next((band.grade for band in self.grades if total >= band.min), self.grades[-1].grade)

    def is_table(self, form_type: str) -> bool:
        spec = self.forms.get(form_type)
        return spec is not None and spec.kind == "table"

    def is_report(self, form_type: str) -> bool:
        spec = self.forms.get(form_type)
        return spec is not None and spec.kind == "report"

    @property
    def table_forms(self) -> list[str]:
        return [name for name, spec in self.forms.items() if spec.kind == "table"]

    @property
    def report_form(self) -> str:
        """The form type of a narrative report (the first, if a catalogue had several)."""
        return next((name for name, spec in self.forms.items() if spec.kind == "report"), UNKNOWN)

    def level1_for(self, level2: str, form_type: str) -> str:
        """The 一级 a 二级 belongs to on this form (成本 二级 sit under 产出 where 成本 is no 一级 of its own)."""
        parent = self.vocabulary.level2_to_level1.get(level2, "")
        spec = self.forms.get(form_type)
        return spec.level1_under.get(parent, parent) if spec is not None else parent


@cache
def default_catalogue() -> Catalogue:
    """`configs/forms.yaml` of this checkout, read once (for callers not handed a catalogue)."""
    return load_catalogue(DEFAULT_CATALOGUE)


def load_catalogue(path: Path) -> Catalogue:
    """Read `configs/forms.yaml` (or a user's copy); a bad file is a usage error (exit 1)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Catalogue.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"forms config {path}: cannot read it ({exc})") from exc
    except ValidationError as exc:
        raise UsageError(f"forms config {path}: {exc}") from exc
