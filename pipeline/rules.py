"""Consistency and scoring rules of the 绩效自评 forms: one registry, one `check` per document.

The rules are those of `shared/domain/RULES.md` §2.1; the figures they compare against (weights, the
投入管理 template, tolerances, grade bands) come from `configs/forms.yaml`, never from code. Each rule
has a stable id and a *basis* — how sure we are that the rule itself is right — and its severity
follows from that basis: a sourced, seed-observed, form-layout or arithmetic rule gives `error`, an
inferred or remembered one `warning`, and a diagnostic about the reading itself `warning` (the rows it
is about are flagged for review on their own).

Findings point at one cell where there is one. Cells are named by `Ref`, and the same names are used
in `Finding.field` / `Correction.field`:

    indicator row    seq=N, field "max_score" / "score" / "target" / "actual" / "deviation_reason" / …
    funding line     field "funding.<item>.<field>", e.g. "funding.基本支出.budget"
    总分 row          field "totals.max_score" / "totals.score"
    header           field "header.<field>", e.g. "header.year"
    report fact      field "fact.<key>", e.g. "fact.total_budget"

A finding about a whole column or sum (e.g. Σ分值) has no single cell: its field names the column
("max_score", "funding.budget") and its seq is empty. `Hit.refs` lists every cell a check used, which
is what arithmetic repair needs to know which values could explain a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .datafiles import CONFIGS
from .errors import UsageError
from .records import Document, Fact, Finding, FundingLine, Indicator, Provenance, Severity

DEFAULT_FORMS_FILE = CONFIGS / "forms.yaml"

# --------------------------------------------------------------------------------------------------
# configuration (configs/forms.yaml)


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


class FormsConfig(_Spec):
    grades: list[GradeBand]
    tolerances: Tolerances = Field(default_factory=Tolerances)
    qualitative: list[QualitativeBand] = Field(default_factory=list)
    forms: dict[str, FormSpec]

    def grade(self, total: Decimal) -> str:
        return next((band.grade for band in self.grades if total >= band.min), "")


@cache
def default_forms() -> FormsConfig:
    """`configs/forms.yaml` of this checkout, read once (for callers not handed a config)."""
    return load_forms_config(DEFAULT_FORMS_FILE)


def load_forms_config(path: Path) -> FormsConfig:
    """Read `configs/forms.yaml` (or a user's copy); a bad file is a usage error (exit 1)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return FormsConfig.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"forms config {path}: cannot read it ({exc})") from exc
    except ValidationError as exc:
        raise UsageError(f"forms config {path}: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# cell references


Part = Literal["indicator", "funding", "totals", "header", "fact"]


@dataclass(frozen=True)
class Ref:
    """One cell of a document: an indicator field (key = seq), a funding field (key = item), …"""

    part: Part
    key: int | str
    field: str

    @property
    def seq(self) -> int | None:
        return self.key if self.part == "indicator" else None  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """The `field` column of findings/corrections (see the module docstring)."""
        if self.part == "indicator":
            return self.field
        if self.part == "funding":
            return f"funding.{self.key}.{self.field}"
        if self.part == "fact":
            return f"fact.{self.key}"
        return f"{self.part}.{self.field}"

    @classmethod
    def parse(cls, seq: int | None, name: str) -> Ref | None:
        """The cell a finding/correction names, or None when it names a column or nothing."""
        if seq is not None:
            return cls("indicator", seq, name) if name else None
        head, _, rest = name.partition(".")
        if head == "funding" and "." in rest:
            item, _, fld = rest.rpartition(".")
            return cls("funding", item, fld)
        if head == "fact" and rest:
            return cls("fact", rest, "value")
        if head in ("totals", "header") and rest:
            return cls(head, "", rest)  # type: ignore[arg-type]
        return None


def indicator_ref(ind: Indicator, fld: str) -> Ref:
    return Ref("indicator", ind.seq, fld)


def funding_ref(line: FundingLine, fld: str) -> Ref:
    return Ref("funding", line.item, fld)


def value_of(doc: Document, ref: Ref) -> object:
    """The value a reference names (None when the row or field is absent)."""
    if ref.part == "indicator":
        ind = next((i for i in doc.indicators if i.seq == ref.key), None)
        return getattr(ind, ref.field, None) if ind else None
    if ref.part == "funding":
        line = next((f for f in doc.funding if f.item == ref.key), None)
        return getattr(line, ref.field, None) if line else None
    if ref.part == "totals":
        return getattr(doc.totals, ref.field, None)
    if ref.part == "header":
        return getattr(doc.header, ref.field, None)
    fact = next((f for f in doc.facts if f.key == ref.key), None)
    return fact.value if fact else None


def provenance_of(doc: Document, ref: Ref) -> Provenance | None:
    """Where a referenced value was read, if recorded (an indicator row falls back to its own page)."""
    if ref.part == "indicator":
        ind = next((i for i in doc.indicators if i.seq == ref.key), None)
        if ind is None:
            return None
        return ind.provenance.get(ref.field) or Provenance(page=ind.page, confidence=ind.confidence)
    if ref.part == "funding":
        line = next((f for f in doc.funding if f.item == ref.key), None)
        return line.provenance.get(ref.field) if line else None
    if ref.part == "totals":
        return doc.totals.provenance.get(ref.field)
    if ref.part == "header":
        return doc.header.provenance.get(ref.field)
    fact = next((f for f in doc.facts if f.key == ref.key), None)
    return fact.provenance if fact else None


# --------------------------------------------------------------------------------------------------
# registry

Basis = Literal["sourced", "seeds", "form", "arithmetic", "inferred", "memory", "extraction"]
SEVERITY_OF_BASIS: dict[str, Severity] = {
    "sourced": "error",
    "seeds": "error",
    "form": "error",
    "arithmetic": "error",
    "inferred": "warning",
    "memory": "warning",
    "extraction": "warning",
}
TABLES = frozenset({"unit_overall", "project"})
UNIT = frozenset({"unit_overall"})
PROJECT = frozenset({"project"})
REPORT = frozenset({"report"})


@dataclass(frozen=True)
class Hit:
    """What a rule function reports; the registry turns it into a `Finding`."""

    message: str
    expected: str = ""
    observed: str = ""
    at: Ref | None = None
    field: str = ""  # column name when the hit is not about one cell
    refs: tuple[Ref, ...] = ()
    key: str = ""  # tells apart hits of one rule about different things (I3: the 一级 group)
    # For a sum: the value each term would need, alone, for the sum to hold (`None`: not a sum)
    needs: tuple[tuple[Ref, Decimal], ...] | None = None

    @property
    def identity(self) -> tuple[Ref | None, str, str]:
        return self.at, self.field, self.key

    @property
    def cells(self) -> tuple[Ref, ...]:
        return self.refs or ((self.at,) if self.at else ())


@dataclass(frozen=True)
class Rule:
    id: str
    basis: Basis
    forms: frozenset[str]
    title: str
    fn: Callable[[Context], Iterable[Hit]]

    @property
    def severity(self) -> Severity:
        return SEVERITY_OF_BASIS[self.basis]

    def finding(self, hit: Hit) -> Finding:
        return Finding(
            rule_id=self.id,
            severity=self.severity,
            seq=hit.at.seq if hit.at else None,
            field=hit.at.name if hit.at else hit.field,
            message=hit.message,
            expected=hit.expected,
            observed=hit.observed,
        )


REGISTRY: dict[str, Rule] = {}


def _rule(rule_id: str, basis: Basis, forms: frozenset[str], title: str):
    def register(fn: Callable[[Context], Iterable[Hit]]) -> Callable[[Context], Iterable[Hit]]:
        assert rule_id not in REGISTRY, rule_id
        REGISTRY[rule_id] = Rule(rule_id, basis, forms, title, fn)
        return fn

    return register


class Context:
    """A document with what every rule needs: its form spec, funding by item, each row's 一级."""

    def __init__(self, doc: Document, forms: FormsConfig):
        self.doc = doc
        self.forms = forms
        self.tol = forms.tolerances
        self.spec = forms.forms.get(doc.header.form_type)
        self.lines = {line.item: line for line in doc.funding}

    def line(self, item: str) -> FundingLine | None:
        return self.lines.get(item)

    def derived_level1(self, ind: Indicator) -> str:
        return self.spec.level2_to_level1.get(ind.level2, "") if self.spec else ""

    def level1_of(self, ind: Indicator) -> str:
        """The row's 一级: as printed when it is a known label, else derived from its 二级 (RULES §5.2)."""
        if self.spec and ind.level1 in self.spec.level1_labels:
            return ind.level1
        return self.derived_level1(ind)

    @property
    def execution_line(self) -> FundingLine | None:
        return self.line(self.spec.funding.total) if self.spec and self.spec.funding.total else None


def evaluate(doc: Document, forms: FormsConfig, only: Iterable[str] | None = None) -> list[tuple[Rule, Hit]]:
    """Run the registered rules that apply to this form type (or just `only`), in registry order."""
    ctx = Context(doc, forms)
    wanted = set(only) if only is not None else None
    out: list[tuple[Rule, Hit]] = []
    for rule in REGISTRY.values():
        if doc.header.form_type in rule.forms and (wanted is None or rule.id in wanted):
            out.extend((rule, hit) for hit in rule.fn(ctx))
    return out


def check(doc: Document, forms: FormsConfig) -> list[Finding]:
    """Every rule of RULES.md §2.1 the document's records support, as findings."""
    return [rule.finding(hit) for rule, hit in evaluate(doc, forms)]


# --------------------------------------------------------------------------------------------------
# small arithmetic helpers (they live here because only the rules give them meaning)

CENT = Decimal("0.01")


def _fmt(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


def _cents(value: Decimal) -> str:
    return format(value.quantize(CENT, ROUND_HALF_UP), "f")


def _sum(values: Iterable[Decimal | None]) -> tuple[Decimal, int]:
    """Sum of the known values and how many were unknown."""
    total, missing = Decimal(0), 0
    for value in values:
        if value is None:
            missing += 1
        else:
            total += value
    return total, missing


def _needs(terms: list[tuple[Ref, Decimal | None]], known: Decimal, target: Decimal) -> tuple[tuple[Ref, Decimal], ...]:
    """For Σ terms = target: the value each term alone would need. With one term unknown only that
    term can close the sum; with more, none can."""
    unknown = [ref for ref, value in terms if value is None]
    if unknown:
        return ((unknown[0], target - known),) if len(unknown) == 1 else ()
    return tuple((ref, value + target - known) for ref, value in terms)


def _unknown_note(missing: int) -> str:
    return f" ({missing} without a value)" if missing else ""


def exact_rate(budget: Decimal, executed: Decimal) -> Decimal | None:
    """执行率 in percent; 0/0 is 0 (seeds print 0.00), x/0 is undefined."""
    if budget == 0:
        return Decimal(0) if executed == 0 else None
    return executed / budget * 100


def _rate_hit(line: FundingLine, ctx: Context) -> Hit | None:
    if line.execution_rate is None or line.budget is None or line.executed is None:
        return None
    exact = exact_rate(line.budget, line.executed)
    refs = (funding_ref(line, "budget"), funding_ref(line, "executed"), funding_ref(line, "execution_rate"))
    at = funding_ref(line, "execution_rate")
    if exact is None:
        return Hit(
            f"{line.item}: 执行率 undefined with 预算数 0 and 执行数 {_fmt(line.executed)}",
            expected="预算数 > 0",
            observed=_fmt(line.execution_rate),
            at=at,
            refs=refs,
        )
    if abs(line.execution_rate - exact) < ctx.tol.rate:
        return None
    shown = exact.quantize(CENT, ROUND_DOWN)
    return Hit(
        f"{line.item}: 执行率 {_fmt(line.execution_rate)} ≠ 执行数/预算数 = {exact:.4f}",
        expected=f"{shown} (±{ctx.tol.rate})",
        observed=_fmt(line.execution_rate),
        at=at,
        refs=refs,
    )


def _runs(rows: list[tuple[Indicator, str]]) -> Iterator[tuple[list[Indicator], str]]:
    """Consecutive rows (in table order) that share one message, so a lost label is one finding."""
    run: list[Indicator] = []
    key = ""
    for ind, message in rows:
        if run and message == key and ind.seq == run[-1].seq + 1:
            run.append(ind)
            continue
        if run:
            yield run, key
        run, key = [ind], message
    if run:
        yield run, key


def _rows_label(run: list[Indicator]) -> str:
    return f"row {run[0].seq}" if len(run) == 1 else f"rows {run[0].seq}–{run[-1].seq}"


# --------------------------------------------------------------------------------------------------
# H — header

HEADER_LABELS = {
    "year": "年度",
    "unit_name": "单位名称/实施单位",
    "project_name": "项目名称",
    "supervising_dept": "主管部门",
}


@_rule("H1", "form", frozenset({"unit_overall", "project", "report", "unknown"}), "header fields present")
def _h1(ctx: Context) -> Iterator[Hit]:
    header = ctx.doc.header
    if ctx.spec is None:
        yield Hit(
            "form type not recognised",
            expected="部门（单位）整体支出绩效自评表 | 项目支出绩效自评表 | 自评报告",
            observed=header.form_type,
            at=Ref("header", "", "form_type"),
        )
        return
    for name in ctx.spec.header_fields:
        value = getattr(header, name)
        if value in (None, ""):
            yield Hit(f"{HEADER_LABELS.get(name, name)} missing", expected="present", at=Ref("header", "", name))
        elif name == "year" and not 2000 <= value <= 2099:
            yield Hit("年度 implausible", expected="2000–2099", observed=str(value), at=Ref("header", "", name))


# --------------------------------------------------------------------------------------------------
# F — 整体 funding block


@_rule("F1", "sourced", UNIT, "执行率 = 执行数 / 预算数 × 100 (truncated or rounded to 2 dp)")
def _f1(ctx: Context) -> Iterator[Hit]:
    for line in ctx.doc.funding:
        hit = _rate_hit(line, ctx)
        if hit:
            yield hit


def _column_refs(items: list[str], column: str) -> tuple[Ref, ...]:
    return tuple(Ref("funding", item, column) for item in items)


@_rule("F2", "arithmetic", UNIT, "财政拨款 + 其他资金 = 基本支出 + 项目支出 (预算数, 执行数)")
def _f2(ctx: Context) -> Iterator[Hit]:
    fund = ctx.spec.funding
    for column, label in (("budget", "预算数"), ("executed", "执行数")):
        src = [getattr(ctx.line(i), column, None) for i in fund.sources]
        use = [getattr(ctx.line(i), column, None) for i in fund.structure]
        if None in src or None in use:
            continue  # S6 reports the missing amount
        lhs, rhs = sum(src, Decimal(0)), sum(use, Decimal(0))
        if abs(lhs - rhs) > ctx.tol.amount:
            src_refs, use_refs = _column_refs(fund.sources, column), _column_refs(fund.structure, column)
            yield Hit(
                f"{label}: {' + '.join(fund.sources)} = {_fmt(lhs)} ≠ {' + '.join(fund.structure)} = {_fmt(rhs)}",
                expected=_fmt(lhs),
                observed=_fmt(rhs),
                field=f"funding.{column}",
                refs=src_refs + use_refs,
                needs=tuple(zip(src_refs, (v + rhs - lhs for v in src)))
                + tuple(zip(use_refs, (v + lhs - rhs for v in use))),
            )


@_rule("F3", "arithmetic", UNIT, "overall 执行率 matches the 财政拨款 row when 其他资金 is 0")
def _f3(ctx: Context) -> Iterator[Hit]:
    fund = ctx.spec.funding
    main = ctx.line(fund.sources[0]) if fund.sources else None
    if main is None or main.execution_rate is None:
        return
    for item in fund.sources[1:]:
        line = ctx.line(item)
        if line is None or line.budget != 0 or line.executed != 0:
            return
    budget, b_missing = _sum(getattr(ctx.line(i), "budget", None) for i in fund.structure)
    executed, e_missing = _sum(getattr(ctx.line(i), "executed", None) for i in fund.structure)
    if b_missing or e_missing:
        return
    exact = exact_rate(budget, executed)
    if exact is None or abs(main.execution_rate - exact) < ctx.tol.rate:
        return
    yield Hit(
        f"{main.item} 执行率 {_fmt(main.execution_rate)} ≠ overall {exact:.4f} of {' + '.join(fund.structure)}",
        expected=f"{exact.quantize(CENT, ROUND_DOWN)} (±{ctx.tol.rate})",
        observed=_fmt(main.execution_rate),
        at=funding_ref(main, "execution_rate"),
        refs=(
            funding_ref(main, "execution_rate"),
            *_column_refs(fund.structure, "budget"),
            *_column_refs(fund.structure, "executed"),
        ),
    )


@_rule("F5", "inferred", TABLES, "执行数 ≤ 预算数")
def _f5(ctx: Context) -> Iterator[Hit]:
    for line in ctx.doc.funding:
        if line.budget is not None and line.executed is not None and line.executed > line.budget:
            yield Hit(
                f"{line.item}: 执行数 {_fmt(line.executed)} > 预算数 {_fmt(line.budget)}",
                expected=f"≤ {_fmt(line.budget)}",
                observed=_fmt(line.executed),
                at=funding_ref(line, "executed"),
                refs=(funding_ref(line, "budget"), funding_ref(line, "executed")),
            )


# --------------------------------------------------------------------------------------------------
# P — 项目 funding block

AMOUNT_LABELS = {"initial_budget": "年初预算数", "budget": "全年预算数", "executed": "全年执行数"}


@_rule("P1", "arithmetic", PROJECT, "年度资金总额 = 当年财政拨款 + 上年结转资金 + 其他资金")
def _p1(ctx: Context) -> Iterator[Hit]:
    fund = ctx.spec.funding
    total = ctx.line(fund.total)
    if total is None:
        return
    for column, label in AMOUNT_LABELS.items():
        stated = getattr(total, column)
        parts = [getattr(ctx.line(i), column, None) for i in fund.parts]
        if stated is None or None in parts:
            continue
        computed = sum(parts, Decimal(0))
        if abs(stated - computed) > ctx.tol.amount:
            part_refs = _column_refs(fund.parts, column)
            yield Hit(
                f"{label}: {fund.total} {_fmt(stated)} ≠ Σ {' + '.join(fund.parts)} = {_fmt(computed)}",
                expected=_fmt(computed),
                observed=_fmt(stated),
                at=funding_ref(total, column),
                refs=(funding_ref(total, column), *part_refs),
                needs=((funding_ref(total, column), computed),)
                + tuple(zip(part_refs, (v + stated - computed for v in parts))),
            )


@_rule("P2", "sourced", PROJECT, "执行率 = 全年执行数 / 全年预算数")
def _p2(ctx: Context) -> Iterator[Hit]:
    for line in ctx.doc.funding:
        hit = _rate_hit(line, ctx)
        if hit:
            yield hit


@_rule("P3", "sourced", PROJECT, "执行率得分 = 分值 × min(1, 执行率)")
def _p3(ctx: Context) -> Iterator[Hit]:
    line = ctx.execution_line
    if line is None or line.max_score is None or line.score is None:
        return
    rates = [line.execution_rate] if line.execution_rate is not None else []
    if line.budget is not None and line.executed is not None:
        exact = exact_rate(line.budget, line.executed)
        rates += [exact] if exact is not None else []
    if not rates:
        return
    expected = [line.max_score * min(Decimal(1), rate / 100) for rate in rates]
    if any(abs(line.score - e) <= ctx.tol.execution_score for e in expected):
        return
    yield Hit(
        f"执行率得分 {_fmt(line.score)} ≠ 分值 {_fmt(line.max_score)} × min(1, 执行率 {_fmt(rates[0])}%)",
        expected=_cents(expected[0]),
        observed=_fmt(line.score),
        at=funding_ref(line, "score"),
        refs=(
            funding_ref(line, "score"),
            funding_ref(line, "max_score"),
            funding_ref(line, "execution_rate"),
            funding_ref(line, "budget"),
            funding_ref(line, "executed"),
        ),
    )


@_rule("P5", "sourced", PROJECT, "执行率分值 = 10")
def _p5(ctx: Context) -> Iterator[Hit]:
    line = ctx.execution_line
    if line is None or line.max_score is None or ctx.spec.execution_max is None:
        return
    if line.max_score != ctx.spec.execution_max:
        yield Hit(
            f"预算执行率 分值 {_fmt(line.max_score)}",
            expected=_fmt(ctx.spec.execution_max),
            observed=_fmt(line.max_score),
            at=funding_ref(line, "max_score"),
        )


def _cost_rows(ctx: Context) -> list[Indicator]:
    spec = ctx.spec
    return [i for i in ctx.doc.indicators if ctx.level1_of(i) == spec.cost_level1 or i.level2 in spec.cost_level2]


YUAN_PER = {"元": Decimal(1), "万元": Decimal(10000)}


def _cost_bound(ctx: Context, rule_id: str, column: str) -> Iterator[Hit]:
    """Σ of the cost indicators' 元 amounts against one amount of the 年度资金总额 row."""
    line = ctx.execution_line
    bound = getattr(line, column, None) if line else None
    if line is None or bound is None:
        return
    value_field, unit_field = ("actual_value", "actual_unit") if rule_id == "P6" else ("target_value", "target_unit")
    rows = [i for i in _cost_rows(ctx) if getattr(i, unit_field) in YUAN_PER and getattr(i, value_field) is not None]
    if not rows:
        return
    total_yuan = sum((getattr(i, value_field) * YUAN_PER[getattr(i, unit_field)] for i in rows), Decimal(0))
    bound_yuan = bound * YUAN_PER[line.amount_unit]
    if total_yuan > bound_yuan:
        what = "actuals" if rule_id == "P6" else "targets"
        yield Hit(
            f"Σ 成本指标 {what} {_fmt(total_yuan)} 元 > {AMOUNT_LABELS[column]} {_fmt(bound)} {line.amount_unit}",
            expected=f"≤ {_fmt(bound_yuan)} 元",
            observed=f"{_fmt(total_yuan)} 元",
            field=value_field,
            refs=tuple(indicator_ref(i, value_field) for i in rows) + (funding_ref(line, column),),
        )


@_rule("P6", "inferred", PROJECT, "Σ 成本指标 actuals ≤ 全年执行数")
def _p6(ctx: Context) -> Iterator[Hit]:
    yield from _cost_bound(ctx, "P6", "executed")


@_rule("P7", "inferred", PROJECT, "Σ 成本指标 targets ≤ 年初预算数")
def _p7(ctx: Context) -> Iterator[Hit]:
    yield from _cost_bound(ctx, "P7", "initial_budget")


# --------------------------------------------------------------------------------------------------
# I — indicator table


def _execution_part(ctx: Context, column: str) -> tuple[Decimal | None, list[Ref]]:
    """The project form's 预算执行率 分值/得分, which count towards the 100 points."""
    line = ctx.execution_line
    if ctx.doc.header.form_type != "project":
        return Decimal(0), []
    if line is None:
        return (ctx.spec.execution_max if column == "max_score" else None), []
    return getattr(line, column), [funding_ref(line, column)]


@_rule("I1", "form", TABLES, "Σ分值 = 100 (项目: + 执行率分值) = 总分 row 分值")
def _i1(ctx: Context) -> Iterator[Hit]:
    rows = ctx.doc.indicators
    if not rows or ctx.spec.total_max is None:
        return
    extra, extra_refs = _execution_part(ctx, "max_score")
    total, missing = _sum([*(i.max_score for i in rows), extra])
    refs = tuple(indicator_ref(i, "max_score") for i in rows) + tuple(extra_refs)
    stated = ctx.doc.totals.max_score
    expected = ctx.spec.total_max
    total_ref = Ref("totals", "", "max_score")
    note = _unknown_note(missing)
    if missing or total != expected:
        said = f" (总分 row says {_fmt(stated)})" if stated is not None else ""
        yield Hit(
            f"Σ分值 {_cents(total)}{note} ≠ {_fmt(expected)}{said}",
            expected=_fmt(expected),
            observed=_cents(total) + note,
            field="max_score",
            refs=refs + ((total_ref,) if stated is not None else ()),
            needs=_needs([*((indicator_ref(i, "max_score"), i.max_score) for i in rows), *zip(extra_refs, [extra])], total, expected),
        )
    if stated is not None and stated != expected and (stated != total or missing):
        yield Hit(
            f"总分 row 分值 {_fmt(stated)} ≠ {_fmt(expected)}",
            expected=_fmt(expected),
            observed=_fmt(stated),
            at=total_ref,
            refs=(total_ref,) + refs,
            needs=((total_ref, expected),),
        )


@_rule("I2", "sourced", TABLES, "Σ得分 (项目: + 执行率得分) = 总分 row 得分")
def _i2(ctx: Context) -> Iterator[Hit]:
    stated = ctx.doc.totals.score
    rows = ctx.doc.indicators
    if stated is None or not rows:
        return
    extra, extra_refs = _execution_part(ctx, "score")
    total, missing = _sum([*(i.score for i in rows), extra])
    if missing == 0 and abs(total - stated) <= ctx.tol.amount:
        return
    note = _unknown_note(missing)
    yield Hit(
        f"总分 {_fmt(stated)} ≠ Σ得分 {_cents(total)}{note}",
        expected=_cents(total) + note,
        observed=_fmt(stated),
        at=Ref("totals", "", "score"),
        refs=(Ref("totals", "", "score"), *(indicator_ref(i, "score") for i in rows), *extra_refs),
        needs=_needs([*((indicator_ref(i, "score"), i.score) for i in rows), *zip(extra_refs, [extra])], total, stated)
        + (((Ref("totals", "", "score"), total),) if missing == 0 else ()),
    )


@_rule("I3", "seeds", TABLES, "Σ分值 of each 一级指标 = its weight")
def _i3(ctx: Context) -> Iterator[Hit]:
    spec = ctx.spec
    rows = ctx.doc.indicators
    if not rows or not spec.level1_groups:
        return
    members: dict[int, list[Indicator]] = {k: [] for k in range(len(spec.level1_groups))}
    for ind in rows:
        group = spec.group_of(ctx.level1_of(ind))
        if group is not None:
            members[spec.level1_groups.index(group)].append(ind)
    expected = {k: g.weight for k, g in enumerate(spec.level1_groups)}
    for absent, target in spec.absent_weight_moves_to.items():
        gone, into = spec.group_of(absent), spec.group_of(target)
        if gone and into and not members[spec.level1_groups.index(gone)] and members[spec.level1_groups.index(into)]:
            expected[spec.level1_groups.index(into)] += gone.weight
            expected[spec.level1_groups.index(gone)] = Decimal(0)
    for k, group in enumerate(spec.level1_groups):
        name = "+".join(group.labels)
        inds = members[k]
        # a 权重 printed on the form must be the template's
        for ind in inds:
            if ind.level1_weight is not None and ind.level1_weight != group.weight:
                yield Hit(
                    f"{ind.level1} 权重 {_fmt(ind.level1_weight)}",
                    expected=_fmt(group.weight),
                    observed=_fmt(ind.level1_weight),
                    at=indicator_ref(ind, "level1_weight"),
                )
                break
        total, missing = _sum(i.max_score for i in inds)
        if not inds and expected[k] == 0:
            continue
        if missing or total != expected[k]:
            note = _unknown_note(missing)
            yield Hit(
                f"{name}: Σ分值 {_cents(total)}{note} ≠ 权重 {_fmt(expected[k])}"
                + ("" if inds else " (no rows)"),
                expected=_fmt(expected[k]),
                observed=_cents(total) + note,
                field="max_score",
                refs=tuple(indicator_ref(i, "max_score") for i in inds),
                key=name,
                needs=_needs([(indicator_ref(i, "max_score"), i.max_score) for i in inds], total, expected[k]),
            )


@_rule("I4", "form", TABLES, "0 ≤ 得分 ≤ 分值")
def _i4(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if ind.score is None:
            continue
        if ind.score < 0 or (ind.max_score is not None and ind.score > ind.max_score):
            yield Hit(
                f"{ind.level3 or ind.level2}: 得分 {_fmt(ind.score)} outside [0, 分值 {_fmt(ind.max_score)}]",
                expected=f"0 – {_fmt(ind.max_score)}",
                observed=_fmt(ind.score),
                at=indicator_ref(ind, "score"),
                refs=(indicator_ref(ind, "score"), indicator_ref(ind, "max_score")),
            )
    totals = ctx.doc.totals
    cap = totals.max_score if totals.max_score is not None else ctx.spec.total_max
    if totals.score is not None and (totals.score < 0 or (cap is not None and totals.score > cap)):
        yield Hit(
            f"总分 {_fmt(totals.score)} outside [0, {_fmt(cap)}]",
            expected=f"0 – {_fmt(cap)}",
            observed=_fmt(totals.score),
            at=Ref("totals", "", "score"),
        )


@_rule("I5", "seeds", UNIT, "投入管理 二级 分值 = template")
def _i5(ctx: Context) -> Iterator[Hit]:
    template = ctx.spec.input_template
    if template is None:
        return
    rows = [i for i in ctx.doc.indicators if ctx.level1_of(i) == template.level1]
    if not rows:
        return  # I3 reports the missing block
    seen: set[str] = set()
    strangers: list[tuple[Indicator, str]] = []
    for ind in rows:
        want = template.level2.get(ind.level2)
        if want is None:
            strangers.append((ind, ind.level2))
            continue
        seen.add(ind.level2)
        if ind.max_score is not None and ind.max_score != want:
            yield Hit(
                f"{ind.level2} 分值 {_fmt(ind.max_score)}",
                expected=_fmt(want),
                observed=_fmt(ind.max_score),
                at=indicator_ref(ind, "max_score"),
            )
    for run, label in _runs(strangers):
        yield Hit(
            f"{_rows_label(run)}: 二级 “{label}” under {template.level1} is not in its template",
            expected=" / ".join(template.level2),
            observed=label,
            at=indicator_ref(run[0], "level2"),
            refs=tuple(indicator_ref(i, "level2") for i in run),
        )
    for name in template.level2:
        if name not in seen:
            yield Hit(f"{template.level1}: 二级 “{name}” missing", expected=name, field="level2", key=name)


def _scores(ind: Indicator) -> bool:
    return ind.max_score is not None and ind.score is not None


def _scoring_rule(ind: Indicator) -> tuple[Decimal, str] | None:
    """Score the rule gives a quantitative row (S7/S8, 财预〔2020〕10号), with how it was reached."""
    target, actual, top = ind.target_value, ind.actual_value, ind.max_score
    if target is None or actual is None or top is None:
        return None
    if ind.target_unit and ind.actual_unit and ind.target_unit != ind.actual_unit:
        return None  # I11 reports the unit mismatch; the numbers are not comparable
    op = ind.target_op or "="
    if op in ("≤", "<"):
        if actual <= target:
            return top, "≤ target met"
        if target > 0 and actual < 2 * target:
            return ((1 - (actual - target) / target) * top).quantize(CENT, ROUND_HALF_UP), "reverse-linear"
        return Decimal(0), "≥ 2 × target"
    if op == "=" and target == 0:
        return (top, "= 0 met") if actual <= 0 else (Decimal(0), "= 0 missed")
    if actual >= target:
        return top, "target met"
    if target <= 0:
        return None
    return (actual / target * top).quantize(CENT, ROUND_HALF_UP), "proportional"


@_rule("I6", "memory", TABLES, "quantitative score follows 完成值/指标值")
def _i6(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if not _scores(ind):
            continue
        ruled = _scoring_rule(ind)
        if ruled is None:
            continue
        want, how = ruled
        if abs(ind.score - want) > ctx.tol.proportional_score:
            yield Hit(
                f"{ind.level3}: 得分 {_fmt(ind.score)} for {ind.actual or _fmt(ind.actual_value)} against "
                f"{ind.target or _fmt(ind.target_value)} ({how})",
                expected=_fmt(want),
                observed=_fmt(ind.score),
                at=indicator_ref(ind, "score"),
                refs=(
                    indicator_ref(ind, "score"),
                    indicator_ref(ind, "target"),
                    indicator_ref(ind, "actual"),
                    indicator_ref(ind, "max_score"),
                ),
            )


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


@_rule("I7", "sourced", TABLES, "qualitative score within the band of its 完成值")
def _i7(ctx: Context) -> Iterator[Hit]:
    full = next((b for b in ctx.forms.qualitative if b.max_inclusive and b.max == 1), None)
    for ind in ctx.doc.indicators:
        if not _scores(ind) or ind.actual_value is not None or not ind.actual or ind.max_score == 0:
            continue
        actual = _plain(ind.actual)
        band = next((b for b in ctx.forms.qualitative if b.phrase in actual), None)
        if band is None and full is not None and ind.target and actual == _plain(ind.target):
            band = full  # the target's own word (及时, 合格…) means it was reached
        if band is None:
            continue
        share = ind.score / ind.max_score
        upper_ok = share <= band.max if band.max_inclusive else share < band.max
        if share >= band.min and upper_ok:
            continue
        close = "]" if band.max_inclusive else ")"
        yield Hit(
            f"{ind.level3}: “{ind.actual}” allows [{band.min:.0%}, {band.max:.0%}{close} of 分值 {_fmt(ind.max_score)}",
            expected=f"{_cents(band.min * ind.max_score)} – {_cents(band.max * ind.max_score)}",
            observed=_fmt(ind.score),
            at=indicator_ref(ind, "score"),
            refs=(indicator_ref(ind, "score"), indicator_ref(ind, "actual"), indicator_ref(ind, "max_score")),
        )


@_rule("I8", "sourced", TABLES, "得分 < 分值 needs a 偏差原因")
def _i8(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if _scores(ind) and ind.score < ind.max_score and not ind.deviation_reason.strip():
            yield Hit(
                f"{ind.level3 or ind.level2}: 得分 {_fmt(ind.score)} < 分值 {_fmt(ind.max_score)} without 偏差原因",
                expected="偏差原因 filled in",
                observed="",
                at=indicator_ref(ind, "deviation_reason"),
                refs=(indicator_ref(ind, "deviation_reason"), indicator_ref(ind, "score")),
            )


@_rule("I9", "inferred", TABLES, "full score has no 偏差原因")
def _i9(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if _scores(ind) and ind.score == ind.max_score and ind.deviation_reason.strip():
            yield Hit(
                f"{ind.level3 or ind.level2}: full 得分 but 偏差原因 “{ind.deviation_reason}”",
                expected="empty",
                observed=ind.deviation_reason,
                at=indicator_ref(ind, "deviation_reason"),
            )


OPERATOR_START = re.compile(r"^\s*(>=|<=|≥|≤|=|>|<)")


@_rule("I10", "inferred", TABLES, "完成值 is a measurement, not an operator expression")
def _i10(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if OPERATOR_START.match(ind.actual):
            copied = " (copied from 年度指标值?)" if _plain(ind.actual) == _plain(ind.target) else ""
            yield Hit(
                f"{ind.level3}: 完成值 “{ind.actual}” is an expression{copied}",
                expected="a measured value",
                observed=ind.actual,
                at=indicator_ref(ind, "actual"),
            )


@_rule("I11", "inferred", TABLES, "…率 indicators in %; target and actual units agree")
def _i11(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if ind.target_unit and ind.actual_unit and ind.target_unit != ind.actual_unit:
            yield Hit(
                f"{ind.level3}: 指标值 in {ind.target_unit}, 完成值 in {ind.actual_unit}",
                expected=ind.target_unit,
                observed=ind.actual_unit,
                at=indicator_ref(ind, "actual"),
                refs=(indicator_ref(ind, "target"), indicator_ref(ind, "actual")),
            )
        elif _plain(ind.level3).endswith("率") and ind.target_unit and ind.target_unit != "%":
            yield Hit(
                f"{ind.level3}: a rate measured in {ind.target_unit}",
                expected="%",
                observed=ind.target_unit,
                at=indicator_ref(ind, "target"),
            )


@_rule("I12", "inferred", TABLES, "年度指标值 0 is vacuous")
def _i12(ctx: Context) -> Iterator[Hit]:
    """`=0.00(个)` asks for nothing; `0发生` or `≤0` (no incident) is a real target."""
    for ind in ctx.doc.indicators:
        if ind.target_value == 0 and ind.target_op in ("=", "≥", ">"):
            yield Hit(
                f"{ind.level3}: 年度指标值 {ind.target or '0'}",
                expected="> 0",
                observed=ind.target or "0",
                at=indicator_ref(ind, "target"),
            )


@_rule("I13", "memory", TABLES, "完成值 far beyond 指标值 (target mis-set)")
def _i13(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        target, actual = ind.target_value, ind.actual_value
        if target is None or actual is None or target <= 0:
            continue
        if ind.target_unit and ind.actual_unit and ind.target_unit != ind.actual_unit:
            continue
        if ind.target_op in ("≤", "<"):
            if actual <= target / 2:
                yield Hit(
                    f"{ind.level3}: 完成值 {_fmt(actual)} ≤ half of the limit {_fmt(target)}",
                    expected=f"> {_fmt(target / 2)}",
                    observed=_fmt(actual),
                    at=indicator_ref(ind, "actual"),
                )
        elif actual >= 2 * target:
            yield Hit(
                f"{ind.level3}: 完成值 {_fmt(actual)} ≥ twice the target {_fmt(target)}",
                expected=f"< {_fmt(2 * target)}",
                observed=_fmt(actual),
                at=indicator_ref(ind, "actual"),
            )


# --------------------------------------------------------------------------------------------------
# G — grade


@_rule("G1", "sourced", TABLES, "grade of the stated 总分 = grade of the scores")
def _g1(ctx: Context) -> Iterator[Hit]:
    stated = ctx.doc.totals.score
    if stated is None or not ctx.doc.indicators:
        return
    extra, _ = _execution_part(ctx, "score")
    total, missing = _sum([*(i.score for i in ctx.doc.indicators), extra])
    if missing:
        return
    said, earned = ctx.forms.grade(stated), ctx.forms.grade(total)
    if said != earned:
        yield Hit(
            f"总分 {_fmt(stated)} gives {said}, Σ得分 {_cents(total)} gives {earned}",
            expected=earned,
            observed=said,
            at=Ref("totals", "", "score"),
        )


# --------------------------------------------------------------------------------------------------
# S — structure of what was read


@_rule("S1", "extraction", TABLES, "row flagged while reading (e.g. cut by a page break)")
def _s1(ctx: Context) -> Iterator[Hit]:
    for ind in ctx.doc.indicators:
        if ind.needs_review and ind.note:
            yield Hit(
                f"row {ind.seq} {ind.level3}: {ind.note}",
                expected="complete row",
                observed=ind.note,
                at=indicator_ref(ind, "level3"),
            )


@_rule("S2", "form", TABLES, "总分 row present")
def _s2(ctx: Context) -> Iterator[Hit]:
    totals = ctx.doc.totals
    if ctx.doc.indicators and totals.max_score is None and totals.score is None:
        yield Hit("总分 row missing or empty", expected="总分 分值 and 得分", observed="", field="totals")


def _labels(spec: FormSpec) -> tuple[set[str], set[str]]:
    """一级 labels, and the 二级 labels that can never be 一级 (成本指标 is either, by locality)."""
    return spec.level1_labels, set(spec.level2_to_level1) - spec.level1_labels


@_rule("S3", "form", TABLES, "cells in their columns (no column shift)")
def _s3(ctx: Context) -> Iterator[Hit]:
    level1s, level2s = _labels(ctx.spec)
    words = {_plain(b.phrase) for b in ctx.forms.qualitative}
    shifted: list[tuple[Indicator, str]] = []
    for ind in ctx.doc.indicators:
        if ind.level1 in level2s:
            shifted.append((ind, f"二级 label “{ind.level1}” in the 一级 column"))
        elif ind.level2 in level1s:
            shifted.append((ind, f"一级 label “{ind.level2}” in the 二级 column"))
        elif ind.level3 in level1s | level2s:
            shifted.append((ind, f"label “{ind.level3}” in the 三级 column"))
        elif ind.target and any(w in _plain(ind.target) for w in words):
            shifted.append((ind, f"完成值 “{ind.target}” in the 年度指标值 column"))
    for run, message in _runs(shifted):
        yield Hit(
            f"{_rows_label(run)}: {message} — columns shifted",
            expected="cells in their own columns",
            observed=message,
            at=indicator_ref(run[0], "level1"),
            refs=tuple(indicator_ref(i, "level1") for i in run),
        )


@_rule("S4", "extraction", TABLES, "一级 label read on every block")
def _s4(ctx: Context) -> Iterator[Hit]:
    """A row without 一级, or — on a form with a 权重 column — a 一级 block none of whose rows got its
    权重: the label cell (which carries the 权重) was lost and 一级 was derived from 二级."""
    rows = ctx.doc.indicators
    has_weights = any(i.level1_weight is not None for i in rows)
    weighted = {i.level1 for i in rows if i.level1_weight is not None}
    lost = []
    for ind in rows:
        if not ind.level1:
            derived = ctx.derived_level1(ind)
            how = f"taken as {derived} from 二级 {ind.level2}" if derived else "not derivable from 二级"
            lost.append((ind, f"一级 label lost, {how}"))
        elif has_weights and ind.level1 not in weighted:
            lost.append((ind, f"一级 label {ind.level1} (with its 权重) not read; derived from 二级"))
    for run, how in _runs(lost):
        yield Hit(
            f"{_rows_label(run)}: {how}",
            expected="一级指标 label",
            observed="",
            at=indicator_ref(run[0], "level1"),
            refs=tuple(indicator_ref(i, "level1") for i in run),
        )


@_rule("S5", "form", TABLES, "一级 label agrees with the 二级 label")
def _s5(ctx: Context) -> Iterator[Hit]:
    spec = ctx.spec
    level1s, level2s = _labels(spec)
    wrong: list[tuple[Indicator, str]] = []
    for ind in ctx.doc.indicators:
        if not ind.level1 or ind.level1 in level2s:
            continue  # S4 / S3
        if ind.level1 not in level1s:
            wrong.append((ind, f"unknown 一级 label “{ind.level1}”"))
            continue
        derived = ctx.derived_level1(ind)
        if derived and spec.group_of(derived) is not spec.group_of(ind.level1):
            wrong.append((ind, f"二级 {ind.level2} belongs to {derived}, not {ind.level1}"))
    for run, message in _runs(wrong):
        yield Hit(
            f"{_rows_label(run)}: {message}",
            expected="consistent labels",
            observed=message,
            at=indicator_ref(run[0], "level1"),
            refs=tuple(indicator_ref(i, "level1") for i in run),
        )


def _required_funding(spec: FormSpec) -> dict[str, tuple[str, ...]]:
    fund = spec.funding
    need = {item: ("budget", "executed", "execution_rate") for item in fund.sources + fund.structure}
    if fund.total:
        need[fund.total] = ("initial_budget", "budget", "executed", "execution_rate", "max_score", "score")
    need.update({item: ("initial_budget", "budget", "executed") for item in fund.parts})
    return need


@_rule("S6", "form", TABLES, "no number missing from a row the form fills")
def _s6(ctx: Context) -> Iterator[Hit]:
    for item, fields in _required_funding(ctx.spec).items():
        line = ctx.line(item)
        if line is None:
            yield Hit(f"funding row {item} missing", expected=item, field=f"funding.{item}")
            continue
        for fld in fields:
            if getattr(line, fld) is None:
                yield Hit(f"{item}: {fld} empty", expected="a number", at=funding_ref(line, fld))
    for ind in ctx.doc.indicators:
        if ind.needs_review and ind.note:
            continue  # S1 reports the flagged row
        for fld in ("max_score", "score"):
            if getattr(ind, fld) is None:
                label = "分值" if fld == "max_score" else "得分"
                yield Hit(f"row {ind.seq} {ind.level3}: {label} empty", expected="a number", at=indicator_ref(ind, fld))


# --------------------------------------------------------------------------------------------------
# X — narrative report figures (internal here; against a table in `cross_check`)

WAN_PER = {"万元": Decimal(1), "元": Decimal("0.0001"), "亿元": Decimal(10000)}
AMOUNT_KEYS = (
    "total_budget",
    "fiscal_appropriation",
    "basic_expenditure",
    "personnel_expenditure",
    "public_expenditure",
    "project_expenditure",
    "initial_budget",
    "budget_adjustment",
    "executed",
)


def _wan(fact: Fact) -> Decimal | None:
    """A report amount in 万元, the unit reports use (None when it is not an amount)."""
    per = WAN_PER.get(fact.unit)
    return fact.value * per if per is not None and fact.key in AMOUNT_KEYS else None


def _facts(doc: Document, key: str) -> list[Fact]:
    return [f for f in doc.facts if f.key == key and (key == "execution_rate" or _wan(f) is not None)]


def _fact_ref(fact: Fact) -> Ref:
    return Ref("fact", fact.key, "value")


def _report_sum(ctx: Context, total_key: str, part_keys: tuple[str, ...], sign: str) -> Iterator[Hit]:
    totals, parts = _facts(ctx.doc, total_key), [_facts(ctx.doc, k) for k in part_keys]
    if not totals or not all(parts):
        return
    computed = sum((_wan(p[0]) for p in parts), Decimal(0))
    slack = ctx.tol.report_amount * len(part_keys)  # every printed figure is rounded to the cent
    for fact in totals:
        if abs(_wan(fact) - computed) > slack:
            yield Hit(
                f"{total_key} {_fmt(_wan(fact))} 万元 ≠ {sign} = {_fmt(computed)} 万元",
                expected=_fmt(computed),
                observed=_fmt(_wan(fact)),
                at=_fact_ref(fact),
                refs=(_fact_ref(fact), *(_fact_ref(p[0]) for p in parts)),
            )


def _rate_interval(executed: Decimal, budget: Decimal, half_cent: Decimal) -> tuple[Decimal, Decimal] | None:
    """The 执行率 figures rounded to the cent can give: executed/budget with both ± half a cent."""
    if budget - half_cent <= 0:
        return None
    return (executed - half_cent) / (budget + half_cent) * 100, (executed + half_cent) / (budget - half_cent) * 100


@_rule("X6", "arithmetic", REPORT, "执行率 = 执行金额 / 调整后预算")
def _x6(ctx: Context) -> Iterator[Hit]:
    rates, executed, budget = (_facts(ctx.doc, k) for k in ("execution_rate", "executed", "total_budget"))
    if not (rates and executed and budget):
        return
    span = _rate_interval(_wan(executed[0]), _wan(budget[0]), ctx.tol.report_amount / 2)
    if span is None:
        return
    low, high = span
    for fact in rates:
        if not low - ctx.tol.rate < fact.value < high + ctx.tol.rate:
            yield Hit(
                f"执行率 {_fmt(fact.value)}% ≠ {_fmt(_wan(executed[0]))} / {_fmt(_wan(budget[0]))} 万元",
                expected=f"{low:.2f} – {high:.2f}",
                observed=_fmt(fact.value),
                at=_fact_ref(fact),
                refs=(_fact_ref(fact), _fact_ref(executed[0]), _fact_ref(budget[0])),
            )


@_rule("X7", "arithmetic", REPORT, "年初预算 + 调增 = 调整后预算")
def _x7(ctx: Context) -> Iterator[Hit]:
    yield from _report_sum(ctx, "total_budget", ("initial_budget", "budget_adjustment"), "年初 + 调增")


@_rule("X8", "arithmetic", REPORT, "基本支出 = 人员经费 + 公用经费")
def _x8(ctx: Context) -> Iterator[Hit]:
    yield from _report_sum(ctx, "basic_expenditure", ("personnel_expenditure", "public_expenditure"), "人员 + 公用")


@_rule("X9", "arithmetic", REPORT, "预算总额 = 基本支出 + 项目支出")
def _x9(ctx: Context) -> Iterator[Hit]:
    yield from _report_sum(ctx, "total_budget", ("basic_expenditure", "project_expenditure"), "基本 + 项目")


# X1–X5 and the table side of X6 compare a report with the unit_overall table of the same unit/year.
CROSS = {
    "X1": ("total_budget", "budget", "sources", "调整后预算 / 预算总额"),
    "X2": ("fiscal_appropriation", "budget", "财政拨款", "财政拨款"),
    "X3": ("basic_expenditure", "budget", "基本支出", "基本支出"),
    "X4": ("project_expenditure", "budget", "项目支出", "项目支出"),
    "X5": ("executed", "executed", "sources", "执行金额"),
}
CROSS_BASIS: Basis = "arithmetic"


PLACE = re.compile(r"省|市|(?<!社)区|县|镇|乡|街道|村(?!民)")  # 社区 names a kind of body, not a place


def _same_unit(a: str, b: str) -> bool:
    """Report and table name the unit alike: equal, or one is the other without its leading
    上海市闵行区… — as long as the shorter name still holds a place, so that a bare `服务中心` does not
    pair with every 服务中心 of the run."""
    a, b = _plain(a), _plain(b)
    if not (a and b):
        return False
    short, long = sorted((a, b), key=len)
    return a == b or (long.endswith(short) and bool(PLACE.search(short)))


def _table_amount(table: Document, items: list[str], column: str) -> tuple[Decimal | None, tuple[Ref, ...]]:
    lines = [next((f for f in table.funding if f.item == i), None) for i in items]
    values = [getattr(line, column, None) if line else None for line in lines]
    if None in values:
        return None, ()
    per = YUAN_PER[lines[0].amount_unit]
    return sum(values, Decimal(0)) * per / 10000, tuple(funding_ref(line, column) for line in lines)


def _cross_pair(report: Document, table: Document, forms: FormsConfig) -> Iterator[tuple[str, Hit, Ref | None]]:
    spec = forms.forms.get("unit_overall")
    if spec is None:
        return
    tol = forms.tolerances
    for rule_id, (key, column, items, label) in CROSS.items():
        chosen = spec.funding.sources if items == "sources" else [items]
        amount, refs = _table_amount(table, chosen, column)
        if amount is None:
            continue
        for fact in _facts(report, key):
            if abs(_wan(fact) - amount) < tol.report_amount:
                continue
            yield rule_id, Hit(
                f"{label}: report {_fmt(_wan(fact))} 万元 ≠ table {_fmt(amount)} 万元 (元 / 10000)",
                expected=_cents(amount),
                observed=_fmt(_wan(fact)),
                at=_fact_ref(fact),
                refs=refs,
            ), (refs[0] if len(refs) == 1 else None)
    budget, b_refs = _table_amount(table, spec.funding.sources, "budget")
    executed, e_refs = _table_amount(table, spec.funding.sources, "executed")
    if budget is None or executed is None:
        return
    exact = exact_rate(budget, executed)
    if exact is None:
        return
    for fact in _facts(report, "execution_rate"):
        if abs(fact.value - exact) < tol.rate:
            continue
        yield "X6", Hit(
            f"执行率: report {_fmt(fact.value)}% ≠ table {exact:.4f}%",
            expected=f"{exact.quantize(CENT, ROUND_DOWN)} (±{tol.rate})",
            observed=_fmt(fact.value),
            at=_fact_ref(fact),
            refs=b_refs + e_refs,
        ), None


REPORT_RULES = ("X6", "X7", "X8", "X9")


def _table_figures(table: Document, forms: FormsConfig) -> tuple[Decimal | None, ...]:
    """Every table figure a report is compared with, to tell whether several tables say the same."""
    spec = forms.forms["unit_overall"]
    out = []
    for _key, column, items, _label in CROSS.values():
        out.append(_table_amount(table, spec.funding.sources if items == "sources" else [items], column)[0])
    out.append(_table_amount(table, spec.funding.sources, "executed")[0])
    return tuple(out)


def _tables_of(report: Document, tables: list[Document], forms: FormsConfig) -> tuple[list[Document], Finding | None]:
    """The table(s) a report describes: same year, same unit. Several tables of the unit (a scan and
    its PDF, a form filed twice) are all compared when their figures agree; when they differ, which one
    the report describes is not knowable and none is (X0 warning) — unless one names the unit exactly."""
    head = report.header
    same_year = [t for t in tables if head.year is not None and t.header.year == head.year and t is not report]
    if not _plain(head.unit_name):
        if not same_year:
            return [], None
        return [], Finding(rule_id="X0", severity="warning", field="header.unit_name",
                           message=f"report names no unit: not compared with the {len(same_year)} table(s) of {head.year}",
                           expected="单位名称", observed="")
    matches = [t for t in same_year if _same_unit(t.header.unit_name, head.unit_name)]
    exact = [t for t in matches if _plain(t.header.unit_name) == _plain(head.unit_name)]
    if len(matches) <= 1 or len({_table_figures(t, forms) for t in matches}) == 1:
        return matches, None
    if len(exact) == 1:
        return exact, None
    return [], Finding(rule_id="X0", severity="warning", field="header.unit_name",
                       message=f"{len(matches)} tables of unit “{head.unit_name}” {head.year} disagree: not compared",
                       expected="one table of the same unit and year", observed=", ".join(t.doc_id for t in matches))


def cross_check(docs: list[Document], forms: FormsConfig | None = None) -> dict[str, list[Finding]]:
    """X1–X6 between each report and the unit_overall table of the same unit and year.

    A disagreement goes on both documents (doc_id → findings): on the report at the fact, on the
    table at the funding cell when there is one; `expected` is always the table's figure in 万元 and
    `observed` the report's. A report filed with its table appended (a unit_overall document that
    carries facts) is compared with that table, and its facts get the report rules X6–X9 here, since
    its own checks are the table's. `forms` defaults to `configs/forms.yaml` (only its tolerances and
    the funding items are used).
    """
    forms = forms or default_forms()
    out: dict[str, list[Finding]] = {}
    tables = [d for d in docs if d.header.form_type == "unit_overall"]
    severity = SEVERITY_OF_BASIS[CROSS_BASIS]
    for report in docs:
        if not report.facts:
            continue
        if report.header.form_type == "report":
            described, x0 = _tables_of(report, tables, forms)
            if x0 is not None:
                out.setdefault(report.doc_id, []).append(x0)
        else:
            as_report = report.model_copy(update={"header": report.header.model_copy(update={"form_type": "report"})})
            out.setdefault(report.doc_id, []).extend(
                rule.finding(hit) for rule, hit in evaluate(as_report, forms, only=REPORT_RULES))
            described = [report] if report.header.form_type == "unit_overall" else []
        if not described:
            continue
        names = ", ".join(t.doc_id for t in described if t is not report)
        for rule_id, hit, table_cell in _cross_pair(report, described[0], forms):
            common = {"rule_id": rule_id, "severity": severity, "expected": hit.expected, "observed": hit.observed}
            where = f" [table {names}]" if names else " [its appended table]"
            out.setdefault(report.doc_id, []).append(
                Finding(**common, field=hit.at.name if hit.at else "", message=f"{hit.message}{where}"))
            for table in described:
                if table is report:
                    continue
                out.setdefault(table.doc_id, []).append(
                    Finding(**common, field=table_cell.name if table_cell else "funding",
                            message=f"{hit.message} [report {report.doc_id}]"))
    return {doc_id: findings for doc_id, findings in out.items() if findings}
