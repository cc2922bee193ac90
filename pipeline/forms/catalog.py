"""`configs/forms.yaml` → the form catalogue: every fact about a form, read once.

What a form is — its weights, its 投入管理 template, the hierarchy of its labels, its money block —
and the figures the rules compare against (tolerances, grade bands, the shares a qualitative
完成值 allows) come from the YAML, never from code (`shared/domain/RULES.md` names the basis of each).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UsageError

DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "configs" / "forms.yaml"

class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeBand(_Spec):
    grade: str
    min: Decimal


class Tolerances(_Spec):
    rate: Decimal = Field(Decimal("0.01"), description="|stated − exact| of a 执行率 must be below this")
    amount: Decimal = Field(Decimal("0.005"), description="sums of amounts and scores agree to the cent")
    execution_score: Decimal = Field(Decimal("0.01"), description="P3: |stated − 分值×执行率| at most this")
    proportional_score: Decimal = Field(Decimal("0.1"), description="I6: flag a score further than this")
    report_amount: Decimal = Field(Decimal("0.01"), description="X*: per figure of a report, in 万元")


class QualitativeBand(_Spec):
    """A 定性 完成值 phrase and the share of 分值 it allows: [min, max) or [min, max]."""

    phrase: str
    min: Decimal
    max: Decimal
    max_inclusive: bool


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


class FormSpec(_Spec):
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

    @property
    def level1_labels(self) -> set[str]:
        return {label for group in self.level1_groups for label in group.labels}

    def group_of(self, level1: str) -> WeightGroup | None:
        return next((g for g in self.level1_groups if level1 in g.labels), None)


class Catalogue(_Spec):
    grades: list[GradeBand]
    tolerances: Tolerances = Field(default_factory=Tolerances)
    qualitative: list[QualitativeBand] = Field(default_factory=list)
    forms: dict[str, FormSpec]
    unrecognised_rules: list[str] = Field(
        default_factory=list, description="rules that check a document of no known form (that it is none)"
    )

    def rules_for(self, form_type: str) -> frozenset[str]:
        spec = self.forms.get(form_type)
        return frozenset(spec.rules if spec is not None else self.unrecognised_rules)

    def grade(self, total: Decimal) -> str:
        return next((band.grade for band in self.grades if total >= band.min), "")


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


