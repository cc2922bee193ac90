"""I, G — the indicator table: sums against the form's weights and its 总分 row, each row's score
against its values, and the grade of the 总分."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from ..records import Indicator
from .cells import Ref, funding_ref, indicator_ref
from .figures import CENT, cents, fmt, needs_for, sum_known, unknown_note, without_spaces
from .registry import Context, Hit, rows_label, rule, runs


def _execution_part(ctx: Context, column: str) -> tuple[Decimal | None, list[Ref]]:
    """The 预算执行率 分值/得分 of a form that scores it (项目), which count towards the 100 points."""
    line = ctx.execution_line
    if ctx.spec.execution_max is None:
        return Decimal(0), []
    if line is None:
        return (ctx.spec.execution_max if column == "max_score" else None), []
    return getattr(line, column), [funding_ref(line, column)]


@rule("I1", "form")
def _i1(ctx: Context) -> Iterator[Hit]:
    """Σ分值 = 100 (项目: + 执行率分值) = 总分 row 分值"""
    rows = ctx.doc.indicators
    if not rows or ctx.spec.total_max is None:
        return
    extra, extra_refs = _execution_part(ctx, "max_score")
    total, missing = sum_known([*(i.max_score for i in rows), extra])
    refs = tuple(indicator_ref(i, "max_score") for i in rows) + tuple(extra_refs)
    stated = ctx.doc.totals.max_score
    expected = ctx.spec.total_max
    total_ref = Ref("totals", "", "max_score")
    note = unknown_note(missing)
    if missing or total != expected:
        said = f" (总分 row says {fmt(stated)})" if stated is not None else ""
        yield Hit(
            f"Σ分值 {cents(total)}{note} ≠ {fmt(expected)}{said}",
            expected=fmt(expected),
            observed=cents(total) + note,
            field="max_score",
            refs=refs + ((total_ref,) if stated is not None else ()),
            needs=needs_for([*((indicator_ref(i, "max_score"), i.max_score) for i in rows), *zip(extra_refs, [extra])], total, expected),
        )
    if stated is not None and stated != expected and (stated != total or missing):
        yield Hit(
            f"总分 row 分值 {fmt(stated)} ≠ {fmt(expected)}",
            expected=fmt(expected),
            observed=fmt(stated),
            at=total_ref,
            refs=(total_ref,) + refs,
            needs=((total_ref, expected),),
        )


@rule("I2", "sourced")
def _i2(ctx: Context) -> Iterator[Hit]:
    """Σ得分 (项目: + 执行率得分) = 总分 row 得分"""
    stated = ctx.doc.totals.score
    rows = ctx.doc.indicators
    if stated is None or not rows:
        return
    extra, extra_refs = _execution_part(ctx, "score")
    total, missing = sum_known([*(i.score for i in rows), extra])
    if missing == 0 and abs(total - stated) <= ctx.tol.amount:
        return
    note = unknown_note(missing)
    yield Hit(
        f"总分 {fmt(stated)} ≠ Σ得分 {cents(total)}{note}",
        expected=cents(total) + note,
        observed=fmt(stated),
        at=Ref("totals", "", "score"),
        refs=(Ref("totals", "", "score"), *(indicator_ref(i, "score") for i in rows), *extra_refs),
        needs=needs_for([*((indicator_ref(i, "score"), i.score) for i in rows), *zip(extra_refs, [extra])], total, stated)
        + (((Ref("totals", "", "score"), total),) if missing == 0 else ()),
    )


@rule("I3", "seeds")
def _i3(ctx: Context) -> Iterator[Hit]:
    """Σ分值 of each 一级指标 = its weight"""
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
                    f"{ind.level1} 权重 {fmt(ind.level1_weight)}",
                    expected=fmt(group.weight),
                    observed=fmt(ind.level1_weight),
                    at=indicator_ref(ind, "level1_weight"),
                )
                break
        total, missing = sum_known(i.max_score for i in inds)
        if not inds and expected[k] == 0:
            continue
        if missing or total != expected[k]:
            note = unknown_note(missing)
            yield Hit(
                f"{name}: Σ分值 {cents(total)}{note} ≠ 权重 {fmt(expected[k])}"
                + ("" if inds else " (no rows)"),
                expected=fmt(expected[k]),
                observed=cents(total) + note,
                field="max_score",
                refs=tuple(indicator_ref(i, "max_score") for i in inds),
                key=name,
                needs=needs_for([(indicator_ref(i, "max_score"), i.max_score) for i in inds], total, expected[k]),
            )


@rule("I4", "form")
def _i4(ctx: Context) -> Iterator[Hit]:
    """0 ≤ 得分 ≤ 分值"""
    for ind in ctx.doc.indicators:
        if ind.score is None:
            continue
        if ind.score < 0 or (ind.max_score is not None and ind.score > ind.max_score):
            yield Hit(
                f"{ind.level3 or ind.level2}: 得分 {fmt(ind.score)} outside [0, 分值 {fmt(ind.max_score)}]",
                expected=f"0 – {fmt(ind.max_score)}",
                observed=fmt(ind.score),
                at=indicator_ref(ind, "score"),
                refs=(indicator_ref(ind, "score"), indicator_ref(ind, "max_score")),
            )
    totals = ctx.doc.totals
    cap = totals.max_score if totals.max_score is not None else ctx.spec.total_max
    if totals.score is not None and (totals.score < 0 or (cap is not None and totals.score > cap)):
        yield Hit(
            f"总分 {fmt(totals.score)} outside [0, {fmt(cap)}]",
            expected=f"0 – {fmt(cap)}",
            observed=fmt(totals.score),
            at=Ref("totals", "", "score"),
        )


@rule("I5", "seeds")
def _i5(ctx: Context) -> Iterator[Hit]:
    """投入管理 二级 分值 = template"""
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
                f"{ind.level2} 分值 {fmt(ind.max_score)}",
                expected=fmt(want),
                observed=fmt(ind.max_score),
                at=indicator_ref(ind, "max_score"),
            )
    for run, label in runs(strangers):
        yield Hit(
            f"{rows_label(run)}: 二级 “{label}” under {template.level1} is not in its template",
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


@rule("I6", "memory")
def _i6(ctx: Context) -> Iterator[Hit]:
    """Quantitative score follows 完成值/指标值"""
    for ind in ctx.doc.indicators:
        if not _scores(ind):
            continue
        ruled = _scoring_rule(ind)
        if ruled is None:
            continue
        want, how = ruled
        if abs(ind.score - want) > ctx.tol.proportional_score:
            yield Hit(
                f"{ind.level3}: 得分 {fmt(ind.score)} for {ind.actual or fmt(ind.actual_value)} against "
                f"{ind.target or fmt(ind.target_value)} ({how})",
                expected=fmt(want),
                observed=fmt(ind.score),
                at=indicator_ref(ind, "score"),
                refs=(
                    indicator_ref(ind, "score"),
                    indicator_ref(ind, "target"),
                    indicator_ref(ind, "actual"),
                    indicator_ref(ind, "max_score"),
                ),
            )


@rule("I7", "sourced")
def _i7(ctx: Context) -> Iterator[Hit]:
    """Qualitative score within the band of its 完成值"""
    full = next((b for b in ctx.forms.qualitative if b.max_inclusive and b.max == 1), None)
    for ind in ctx.doc.indicators:
        if not _scores(ind) or ind.actual_value is not None or not ind.actual or ind.max_score == 0:
            continue
        actual = without_spaces(ind.actual)
        band = next((b for b in ctx.forms.qualitative if b.phrase in actual), None)
        if band is None and full is not None and ind.target and actual == without_spaces(ind.target):
            band = full  # the target's own word (及时, 合格…) means it was reached
        if band is None:
            continue
        share = ind.score / ind.max_score
        upper_ok = share <= band.max if band.max_inclusive else share < band.max
        if share >= band.min and upper_ok:
            continue
        close = "]" if band.max_inclusive else ")"
        yield Hit(
            f"{ind.level3}: “{ind.actual}” allows [{band.min:.0%}, {band.max:.0%}{close} of 分值 {fmt(ind.max_score)}",
            expected=f"{cents(band.min * ind.max_score)} – {cents(band.max * ind.max_score)}",
            observed=fmt(ind.score),
            at=indicator_ref(ind, "score"),
            refs=(indicator_ref(ind, "score"), indicator_ref(ind, "actual"), indicator_ref(ind, "max_score")),
        )


@rule("I8", "sourced")
def _i8(ctx: Context) -> Iterator[Hit]:
    """得分 < 分值 needs a 偏差原因"""
    for ind in ctx.doc.indicators:
        if _scores(ind) and ind.score < ind.max_score and not ind.deviation_reason.strip():
            yield Hit(
                f"{ind.level3 or ind.level2}: 得分 {fmt(ind.score)} < 分值 {fmt(ind.max_score)} without 偏差原因",
                expected="偏差原因 filled in",
                observed="",
                at=indicator_ref(ind, "deviation_reason"),
                refs=(indicator_ref(ind, "deviation_reason"), indicator_ref(ind, "score")),
            )


@rule("I9", "inferred")
def _i9(ctx: Context) -> Iterator[Hit]:
    """Full score has no 偏差原因"""
    for ind in ctx.doc.indicators:
        if _scores(ind) and ind.score == ind.max_score and ind.deviation_reason.strip():
            yield Hit(
                f"{ind.level3 or ind.level2}: full 得分 but 偏差原因 “{ind.deviation_reason}”",
                expected="empty",
                observed=ind.deviation_reason,
                at=indicator_ref(ind, "deviation_reason"),
            )


OPERATOR_START = re.compile(r"^\s*(>=|<=|≥|≤|=|>|<)")


@rule("I10", "inferred")
def _i10(ctx: Context) -> Iterator[Hit]:
    """完成值 is a measurement, not an operator expression"""
    for ind in ctx.doc.indicators:
        if OPERATOR_START.match(ind.actual):
            copied = " (copied from 年度指标值?)" if without_spaces(ind.actual) == without_spaces(ind.target) else ""
            yield Hit(
                f"{ind.level3}: 完成值 “{ind.actual}” is an expression{copied}",
                expected="a measured value",
                observed=ind.actual,
                at=indicator_ref(ind, "actual"),
            )


@rule("I11", "inferred")
def _i11(ctx: Context) -> Iterator[Hit]:
    """…率 indicators in %; target and actual units agree"""
    for ind in ctx.doc.indicators:
        if ind.target_unit and ind.actual_unit and ind.target_unit != ind.actual_unit:
            yield Hit(
                f"{ind.level3}: 指标值 in {ind.target_unit}, 完成值 in {ind.actual_unit}",
                expected=ind.target_unit,
                observed=ind.actual_unit,
                at=indicator_ref(ind, "actual"),
                refs=(indicator_ref(ind, "target"), indicator_ref(ind, "actual")),
            )
        elif without_spaces(ind.level3).endswith("率") and ind.target_unit and ind.target_unit != "%":
            yield Hit(
                f"{ind.level3}: a rate measured in {ind.target_unit}",
                expected="%",
                observed=ind.target_unit,
                at=indicator_ref(ind, "target"),
            )


@rule("I12", "inferred")
def _i12(ctx: Context) -> Iterator[Hit]:
    """年度指标值 0 is vacuous.

    `=0.00(个)` asks for nothing; `0发生` or `≤0` (no incident) is a real target."""
    for ind in ctx.doc.indicators:
        if ind.target_value == 0 and ind.target_op in ("=", "≥", ">"):
            yield Hit(
                f"{ind.level3}: 年度指标值 {ind.target or '0'}",
                expected="> 0",
                observed=ind.target or "0",
                at=indicator_ref(ind, "target"),
            )


@rule("I13", "memory")
def _i13(ctx: Context) -> Iterator[Hit]:
    """完成值 far beyond 指标值 (target mis-set)"""
    for ind in ctx.doc.indicators:
        target, actual = ind.target_value, ind.actual_value
        if target is None or actual is None or target <= 0:
            continue
        if ind.target_unit and ind.actual_unit and ind.target_unit != ind.actual_unit:
            continue
        if ind.target_op in ("≤", "<"):
            if actual <= target / 2:
                yield Hit(
                    f"{ind.level3}: 完成值 {fmt(actual)} ≤ half of the limit {fmt(target)}",
                    expected=f"> {fmt(target / 2)}",
                    observed=fmt(actual),
                    at=indicator_ref(ind, "actual"),
                )
        elif actual >= 2 * target:
            yield Hit(
                f"{ind.level3}: 完成值 {fmt(actual)} ≥ twice the target {fmt(target)}",
                expected=f"< {fmt(2 * target)}",
                observed=fmt(actual),
                at=indicator_ref(ind, "actual"),
            )


# G — grade


@rule("G1", "sourced")
def _g1(ctx: Context) -> Iterator[Hit]:
    """Grade of the stated 总分 = grade of the scores"""
    stated = ctx.doc.totals.score
    if stated is None or not ctx.doc.indicators:
        return
    extra, _ = _execution_part(ctx, "score")
    total, missing = sum_known([*(i.score for i in ctx.doc.indicators), extra])
    if missing:
        return
    said, earned = ctx.forms.grade(stated), ctx.forms.grade(total)
    if said != earned:
        yield Hit(
            f"总分 {fmt(stated)} gives {said}, Σ得分 {cents(total)} gives {earned}",
            expected=earned,
            observed=said,
            at=Ref("totals", "", "score"),
        )


