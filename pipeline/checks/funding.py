"""F, P — the money block: F on a form whose sources and structure must agree (整体), P on a form
with a total over its parts and an 执行率 score (项目); which is which is the catalogue's."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from ..records import FundingLine, Indicator
from .cells import Ref, funding_ref, indicator_ref
from .figures import CENT, cents, exact_rate, fmt, sum_known
from .registry import Context, Hit, rule

YUAN_PER = {"元": Decimal(1), "万元": Decimal(10000)}


def _rate_hit(line: FundingLine, ctx: Context) -> Hit | None:
    if line.execution_rate is None or line.budget is None or line.executed is None:
        return None
    exact = exact_rate(line.budget, line.executed)
    refs = (funding_ref(line, "budget"), funding_ref(line, "executed"), funding_ref(line, "execution_rate"))
    at = funding_ref(line, "execution_rate")
    if exact is None:
        return Hit(
            f"{line.item}: 执行率 undefined with 预算数 0 and 执行数 {fmt(line.executed)}",
            expected="预算数 > 0",
            observed=fmt(line.execution_rate),
            at=at,
            refs=refs,
        )
    if abs(line.execution_rate - exact) < ctx.tol.rate:
        return None
    shown = exact.quantize(CENT, ROUND_DOWN)
    return Hit(
        f"{line.item}: 执行率 {fmt(line.execution_rate)} ≠ 执行数/预算数 = {exact:.4f}",
        expected=f"{shown} (±{ctx.tol.rate})",
        observed=fmt(line.execution_rate),
        at=at,
        refs=refs,
    )


# F — sources and structure


@rule("F1", "sourced")
def _f1(ctx: Context) -> Iterator[Hit]:
    """执行率 = 执行数 / 预算数 × 100 (truncated or rounded to 2 dp)"""
    for line in ctx.doc.funding:
        hit = _rate_hit(line, ctx)
        if hit:
            yield hit


def _column_refs(items: list[str], column: str) -> tuple[Ref, ...]:
    return tuple(Ref("funding", item, column) for item in items)


@rule("F2", "arithmetic")
def _f2(ctx: Context) -> Iterator[Hit]:
    """Σ sources = Σ structure of the money block, in 预算数 and in 执行数"""
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
                f"{label}: {' + '.join(fund.sources)} = {fmt(lhs)} ≠ {' + '.join(fund.structure)} = {fmt(rhs)}",
                expected=fmt(lhs),
                observed=fmt(rhs),
                field=f"funding.{column}",
                refs=src_refs + use_refs,
                needs=tuple(zip(src_refs, (v + rhs - lhs for v in src)))
                + tuple(zip(use_refs, (v + lhs - rhs for v in use))),
            )


@rule("F3", "arithmetic")
def _f3(ctx: Context) -> Iterator[Hit]:
    """The first source's 执行率 matches the structure's overall one when the other sources are 0"""
    fund = ctx.spec.funding
    main = ctx.line(fund.sources[0]) if fund.sources else None
    if main is None or main.execution_rate is None:
        return
    for item in fund.sources[1:]:
        line = ctx.line(item)
        if line is None or line.budget != 0 or line.executed != 0:
            return
    budget, b_missing = sum_known(getattr(ctx.line(i), "budget", None) for i in fund.structure)
    executed, e_missing = sum_known(getattr(ctx.line(i), "executed", None) for i in fund.structure)
    if b_missing or e_missing:
        return
    exact = exact_rate(budget, executed)
    if exact is None or abs(main.execution_rate - exact) < ctx.tol.rate:
        return
    yield Hit(
        f"{main.item} 执行率 {fmt(main.execution_rate)} ≠ overall {exact:.4f} of {' + '.join(fund.structure)}",
        expected=f"{exact.quantize(CENT, ROUND_DOWN)} (±{ctx.tol.rate})",
        observed=fmt(main.execution_rate),
        at=funding_ref(main, "execution_rate"),
        refs=(
            funding_ref(main, "execution_rate"),
            *_column_refs(fund.structure, "budget"),
            *_column_refs(fund.structure, "executed"),
        ),
    )


@rule("F5", "inferred")
def _f5(ctx: Context) -> Iterator[Hit]:
    """执行数 ≤ 预算数"""
    for line in ctx.doc.funding:
        if line.budget is not None and line.executed is not None and line.executed > line.budget:
            yield Hit(
                f"{line.item}: 执行数 {fmt(line.executed)} > 预算数 {fmt(line.budget)}",
                expected=f"≤ {fmt(line.budget)}",
                observed=fmt(line.executed),
                at=funding_ref(line, "executed"),
                refs=(funding_ref(line, "budget"), funding_ref(line, "executed")),
            )


# P — a total over its parts, and the 执行率 score

AMOUNT_LABELS = {"initial_budget": "年初预算数", "budget": "全年预算数", "executed": "全年执行数"}


@rule("P1", "arithmetic")
def _p1(ctx: Context) -> Iterator[Hit]:
    """Total = Σ parts of the money block, in 年初预算数, 全年预算数 and 全年执行数"""
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
                f"{label}: {fund.total} {fmt(stated)} ≠ Σ {' + '.join(fund.parts)} = {fmt(computed)}",
                expected=fmt(computed),
                observed=fmt(stated),
                at=funding_ref(total, column),
                refs=(funding_ref(total, column), *part_refs),
                needs=((funding_ref(total, column), computed),)
                + tuple(zip(part_refs, (v + stated - computed for v in parts))),
            )


@rule("P2", "sourced")
def _p2(ctx: Context) -> Iterator[Hit]:
    """执行率 = 全年执行数 / 全年预算数"""
    for line in ctx.doc.funding:
        hit = _rate_hit(line, ctx)
        if hit:
            yield hit


@rule("P3", "sourced")
def _p3(ctx: Context) -> Iterator[Hit]:
    """执行率得分 = 分值 × min(1, 执行率)"""
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
        f"执行率得分 {fmt(line.score)} ≠ 分值 {fmt(line.max_score)} × min(1, 执行率 {fmt(rates[0])}%)",
        expected=cents(expected[0]),
        observed=fmt(line.score),
        at=funding_ref(line, "score"),
        refs=(
            funding_ref(line, "score"),
            funding_ref(line, "max_score"),
            funding_ref(line, "execution_rate"),
            funding_ref(line, "budget"),
            funding_ref(line, "executed"),
        ),
    )


@rule("P5", "sourced")
def _p5(ctx: Context) -> Iterator[Hit]:
    """执行率分值 = 10"""
    line = ctx.execution_line
    if line is None or line.max_score is None or ctx.spec.execution_max is None:
        return
    if line.max_score != ctx.spec.execution_max:
        yield Hit(
            f"预算执行率 分值 {fmt(line.max_score)}",
            expected=fmt(ctx.spec.execution_max),
            observed=fmt(line.max_score),
            at=funding_ref(line, "max_score"),
        )


def _cost_rows(ctx: Context) -> list[Indicator]:
    spec = ctx.spec
    return [i for i in ctx.doc.indicators if ctx.level1_of(i) == spec.cost_level1 or i.level2 in spec.cost_level2]


def _cost_bound(ctx: Context, rule_id: str, column: str) -> Iterator[Hit]:
    """Σ of the cost indicators' 元 amounts against one amount of the money block's total row."""
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
            f"Σ 成本指标 {what} {fmt(total_yuan)} 元 > {AMOUNT_LABELS[column]} {fmt(bound)} {line.amount_unit}",
            expected=f"≤ {fmt(bound_yuan)} 元",
            observed=f"{fmt(total_yuan)} 元",
            field=value_field,
            refs=tuple(indicator_ref(i, value_field) for i in rows) + (funding_ref(line, column),),
        )


@rule("P6", "inferred")
def _p6(ctx: Context) -> Iterator[Hit]:
    """Σ 成本指标 actuals ≤ 全年执行数"""
    yield from _cost_bound(ctx, "P6", "executed")


@rule("P7", "inferred")
def _p7(ctx: Context) -> Iterator[Hit]:
    """Σ 成本指标 targets ≤ 年初预算数"""
    yield from _cost_bound(ctx, "P7", "initial_budget")


