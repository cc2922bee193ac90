"""X6–X9 — a narrative report's own figures: 执行率 from its amounts, and its sums (against a table
of the same unit and year: `cross.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from ..records import Document, Fact
from .cells import Ref
from .figures import fmt
from .registry import Context, Hit, rule

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


def in_wan(fact: Fact) -> Decimal | None:
    """A report amount in 万元, the unit reports use (None when it is not an amount)."""
    per = WAN_PER.get(fact.unit)
    return fact.value * per if per is not None and fact.key in AMOUNT_KEYS else None


def facts_of(doc: Document, key: str) -> list[Fact]:
    return [f for f in doc.facts if f.key == key and (key == "execution_rate" or in_wan(f) is not None)]


def fact_ref(fact: Fact) -> Ref:
    return Ref("fact", fact.key, "value")


def _report_sum(ctx: Context, total_key: str, part_keys: tuple[str, ...], sign: str) -> Iterator[Hit]:
    totals, parts = facts_of(ctx.doc, total_key), [facts_of(ctx.doc, k) for k in part_keys]
    if not totals or not all(parts):
        return
    computed = sum((in_wan(p[0]) for p in parts), Decimal(0))
    slack = ctx.tol.report_amount * len(part_keys)  # every printed figure is rounded to the cent
    for fact in totals:
        if abs(in_wan(fact) - computed) > slack:
            yield Hit(
                f"{total_key} {fmt(in_wan(fact))} 万元 ≠ {sign} = {fmt(computed)} 万元",
                expected=fmt(computed),
                observed=fmt(in_wan(fact)),
                at=fact_ref(fact),
                refs=(fact_ref(fact), *(fact_ref(p[0]) for p in parts)),
            )


def _rate_interval(executed: Decimal, budget: Decimal, half_cent: Decimal) -> tuple[Decimal, Decimal] | None:
    """The 执行率 figures rounded to the cent can give: executed/budget with both ± half a cent."""
    if budget - half_cent <= 0:
        return None
    return (executed - half_cent) / (budget + half_cent) * 100, (executed + half_cent) / (budget - half_cent) * 100


@rule("X6", "arithmetic")
def _x6(ctx: Context) -> Iterator[Hit]:
    """执行率 = 执行金额 / 调整后预算"""
    rates, executed, budget = (facts_of(ctx.doc, k) for k in ("execution_rate", "executed", "total_budget"))
    if not (rates and executed and budget):
        return
    span = _rate_interval(in_wan(executed[0]), in_wan(budget[0]), ctx.tol.report_amount / 2)
    if span is None:
        return
    low, high = span
    for fact in rates:
        if not low - ctx.tol.rate < fact.value < high + ctx.tol.rate:
            yield Hit(
                f"执行率 {fmt(fact.value)}% ≠ {fmt(in_wan(executed[0]))} / {fmt(in_wan(budget[0]))} 万元",
                expected=f"{low:.2f} – {high:.2f}",
                observed=fmt(fact.value),
                at=fact_ref(fact),
                refs=(fact_ref(fact), fact_ref(executed[0]), fact_ref(budget[0])),
            )


@rule("X7", "arithmetic")
def _x7(ctx: Context) -> Iterator[Hit]:
    """年初预算 + 调增 = 调整后预算"""
    yield from _report_sum(ctx, "total_budget", ("initial_budget", "budget_adjustment"), "年初 + 调增")


@rule("X8", "arithmetic")
def _x8(ctx: Context) -> Iterator[Hit]:
    """基本支出 = 人员经费 + 公用经费"""
    yield from _report_sum(ctx, "basic_expenditure", ("personnel_expenditure", "public_expenditure"), "人员 + 公用")


@rule("X9", "arithmetic")
def _x9(ctx: Context) -> Iterator[Hit]:
    """预算总额 = 基本支出 + 项目支出"""
    yield from _report_sum(ctx, "total_budget", ("basic_expenditure", "project_expenditure"), "基本 + 项目")


