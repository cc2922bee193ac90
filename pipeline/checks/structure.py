"""S — the structure of what was read: rows flagged while reading, the 总分 row, cells in their
columns, labels that agree, and no number missing from a row the form fills."""

from __future__ import annotations

from collections.abc import Iterator

from ..forms.catalog import FormSpec
from ..records import Indicator
from .cells import funding_ref, indicator_ref
from .figures import without_spaces
from .registry import Context, Hit, rows_label, rule, runs


@rule("S1", "extraction")
def _s1(ctx: Context) -> Iterator[Hit]:
    """Row flagged while reading (e.g. cut by a page break)"""
    for ind in ctx.doc.indicators:
        if ind.needs_review and ind.note:
            yield Hit(
                f"row {ind.seq} {ind.level3}: {ind.note}",
                expected="complete row",
                observed=ind.note,
                at=indicator_ref(ind, "level3"),
            )


@rule("S2", "form")
def _s2(ctx: Context) -> Iterator[Hit]:
    """总分 row present"""
    totals = ctx.doc.totals
    if ctx.doc.indicators and totals.max_score is None and totals.score is None:
        yield Hit("总分 row missing or empty", expected="总分 分值 and 得分", observed="", field="totals")


def _labels(spec: FormSpec) -> tuple[set[str], set[str]]:
    """一级 labels, and the 二级 labels that can never be 一级 (成本指标 is either, by locality)."""
    return spec.level1_labels, set(spec.level2_to_level1) - spec.level1_labels


@rule("S3", "form")
def _s3(ctx: Context) -> Iterator[Hit]:
    """Cells in their columns (no column shift)"""
    level1s, level2s = _labels(ctx.spec)
    words = {without_spaces(b.phrase) for b in ctx.forms.qualitative}
    shifted: list[tuple[Indicator, str]] = []
    for ind in ctx.doc.indicators:
        if ind.level1 in level2s:
            shifted.append((ind, f"二级 label “{ind.level1}” in the 一级 column"))
        elif ind.level2 in level1s:
            shifted.append((ind, f"一级 label “{ind.level2}” in the 二级 column"))
        elif ind.level3 in level1s | level2s:
            shifted.append((ind, f"label “{ind.level3}” in the 三级 column"))
        elif ind.target and any(w in without_spaces(ind.target) for w in words):
            shifted.append((ind, f"完成值 “{ind.target}” in the 年度指标值 column"))
    for run, message in runs(shifted):
        yield Hit(
            f"{rows_label(run)}: {message} — columns shifted",
            expected="cells in their own columns",
            observed=message,
            at=indicator_ref(run[0], "level1"),
            refs=tuple(indicator_ref(i, "level1") for i in run),
        )


@rule("S4", "extraction")
def _s4(ctx: Context) -> Iterator[Hit]:
    """一级 label read on every block.

    A row without 一级, or — on a form with a 权重 column — a 一级 block none of whose rows got its
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
    for run, how in runs(lost):
        yield Hit(
            f"{rows_label(run)}: {how}",
            expected="一级指标 label",
            observed="",
            at=indicator_ref(run[0], "level1"),
            refs=tuple(indicator_ref(i, "level1") for i in run),
        )


@rule("S5", "form")
def _s5(ctx: Context) -> Iterator[Hit]:
    """一级 label agrees with the 二级 label"""
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
    for run, message in runs(wrong):
        yield Hit(
            f"{rows_label(run)}: {message}",
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


@rule("S6", "form")
def _s6(ctx: Context) -> Iterator[Hit]:
    """No number missing from a row the form fills"""
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


