"""X0–X6 across documents: a narrative report against the table of the same unit and year.

X1–X5 and the table side of X6 compare a report's figures (万元) with the table's money block
(元 / 10000); X0 says why a report was not compared. A disagreement is a finding on both documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from ..forms.catalog import Catalogue, default_catalogue
from ..records import Document, Finding
from .cells import Ref, funding_ref
from .figures import CENT, cents, exact_rate, fmt, without_spaces
from .funding import YUAN_PER
from .registry import REGISTRY, Hit, cross_rule, evaluate
from .report import facts_of, fact_ref, in_wan

X0 = cross_rule("X0", "extraction")
"""A report not compared with a table: it names no unit, or several tables of its unit disagree."""

CROSS = {
    "X1": ("total_budget", "budget", "sources", "调整后预算 / 预算总额"),
    "X2": ("fiscal_appropriation", "budget", "财政拨款", "财政拨款"),
    "X3": ("basic_expenditure", "budget", "基本支出", "基本支出"),
    "X4": ("project_expenditure", "budget", "项目支出", "项目支出"),
    "X5": ("executed", "executed", "sources", "执行金额"),
}
for _rule_id in CROSS:
    cross_rule(_rule_id, "arithmetic")


PLACE = re.compile(r"省|市|(?<!社)区|县|镇|乡|街道|村(?!民)")  # 社区 names a kind of body, not a place


def _same_unit(a: str, b: str) -> bool:
    """Report and table name the unit alike: equal, or one is the other without its leading
    上海市闵行区… — as long as the shorter name still holds a place, so that a bare `服务中心` does not
    pair with every 服务中心 of the run."""
    a, b = without_spaces(a), without_spaces(b)
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


def _cross_pair(report: Document, table: Document, forms: Catalogue) -> Iterator[tuple[str, Hit, Ref | None]]:
    spec = forms.forms.get("unit_overall")
    if spec is None:
        return
    tol = forms.tolerances
    for rule_id, (key, column, items, label) in CROSS.items():
        chosen = spec.funding.sources if items == "sources" else [items]
        amount, refs = _table_amount(table, chosen, column)
        if amount is None:
            continue
        for fact in facts_of(report, key):
            if abs(in_wan(fact) - amount) < tol.report_amount:
                continue
            yield rule_id, Hit(
                f"{label}: report {fmt(in_wan(fact))} 万元 ≠ table {fmt(amount)} 万元 (元 / 10000)",
                expected=cents(amount),
                observed=fmt(in_wan(fact)),
                at=fact_ref(fact),
                refs=refs,
            ), (refs[0] if len(refs) == 1 else None)
    budget, b_refs = _table_amount(table, spec.funding.sources, "budget")
    executed, e_refs = _table_amount(table, spec.funding.sources, "executed")
    if budget is None or executed is None:
        return
    exact = exact_rate(budget, executed)
    if exact is None:
        return
    for fact in facts_of(report, "execution_rate"):
        if abs(fact.value - exact) < tol.rate:
            continue
        yield "X6", Hit(
            f"执行率: report {fmt(fact.value)}% ≠ table {exact:.4f}%",
            expected=f"{exact.quantize(CENT, ROUND_DOWN)} (±{tol.rate})",
            observed=fmt(fact.value),
            at=fact_ref(fact),
            refs=b_refs + e_refs,
        ), None


REPORT_RULES = ("X6", "X7", "X8", "X9")


def _table_figures(table: Document, forms: Catalogue) -> tuple[Decimal | None, ...]:
    """Every table figure a report is compared with, to tell whether several tables say the same."""
    spec = forms.forms["unit_overall"]
    out = []
    for _key, column, items, _label in CROSS.values():
        out.append(_table_amount(table, spec.funding.sources if items == "sources" else [items], column)[0])
    out.append(_table_amount(table, spec.funding.sources, "executed")[0])
    return tuple(out)


def _tables_of(report: Document, tables: list[Document], forms: Catalogue) -> tuple[list[Document], Finding | None]:
    """The table(s) a report describes: same year, same unit. Several tables of the unit (a scan and
    its PDF, a form filed twice) are all compared when their figures agree; when they differ, which one
    the report describes is not knowable and none is (X0 warning) — unless one names the unit exactly."""
    head = report.header
    same_year = [t for t in tables if head.year is not None and t.header.year == head.year and t is not report]
    if not without_spaces(head.unit_name):
        if not same_year:
            return [], None
        return [], Finding(rule_id=X0.id, severity=X0.severity, field="header.unit_name",
                           message=f"report names no unit: not compared with the {len(same_year)} table(s) of {head.year}",
                           expected="单位名称", observed="")
    matches = [t for t in same_year if _same_unit(t.header.unit_name, head.unit_name)]
    exact = [t for t in matches if without_spaces(t.header.unit_name) == without_spaces(head.unit_name)]
    if len(matches) <= 1 or len({_table_figures(t, forms) for t in matches}) == 1:
        return matches, None
    if len(exact) == 1:
        return exact, None
    return [], Finding(rule_id=X0.id, severity=X0.severity, field="header.unit_name",
                       message=f"{len(matches)} tables of unit “{head.unit_name}” {head.year} disagree: not compared",
                       expected="one table of the same unit and year", observed=", ".join(t.doc_id for t in matches))


def cross_check(docs: list[Document], forms: Catalogue | None = None) -> dict[str, list[Finding]]:
    """X1–X6 between each report and the unit_overall table of the same unit and year.

    A disagreement goes on both documents (doc_id → findings): on the report at the fact, on the
    table at the funding cell when there is one; `expected` is always the table's figure in 万元 and
    `observed` the report's. A report filed with its table appended (a unit_overall document that
    carries facts) is compared with that table, and its facts get the report rules X6–X9 here, since
    its own checks are the table's. `forms` defaults to `configs/forms.yaml` (only its tolerances and
    the funding items are used).
    """
    forms = forms or default_catalogue()
    out: dict[str, list[Finding]] = {}
    tables = [d for d in docs if d.header.form_type == "unit_overall"]
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
            common = {"rule_id": rule_id, "severity": REGISTRY[rule_id].severity, "expected": hit.expected, "observed": hit.observed}
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
