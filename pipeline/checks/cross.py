"""X0–X6 across documents: a narrative report against the table of the same unit and year.

X1–X5 and the table side of X6 compare a report's figures (万元) with the table's money block
(元 / 10000); X0 says why a report was not compared. A disagreement is a finding on both documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from ..forms.catalog import Catalogue, CrossCheck, default_catalogue
from ..forms.header import PLACE
from ..records import Document, Finding
from .cells import Ref, funding_ref
from .figures import CENT, cents, exact_rate, fmt, without_spaces
from .funding import YUAN_PER
from .registry import REGISTRY, Hit, cross_rule, evaluate
from .report import fact_ref, facts_of, in_wan

X0 = cross_rule("X0", "extraction")
"""A report not compared with a table: it names no unit, or several tables of its unit disagree."""

FIGURE_RULES = tuple(cross_rule(f"X{k}", "arithmetic") for k in range(1, 6))
"""A report figure against the table's: which figure each compares is the catalogue's (`cross_check`)."""


def _same_unit(a: str, b: str) -> bool:
    """Report and table name the unit alike: equal, or one is the other without its leading
    上海市闵行区… — as long as the shorter name still holds a place, so that a bare `服务中心` does not
    pair with every 服务中心 of the run."""
    a, b = without_spaces(a), without_spaces(b)
    if not (a and b):
        return False
    short, long = sorted((a, b), key=len)
    return a == b or (long.endswith(short) and bool(re.search(PLACE, short)))


def _table_amount(table: Document, items: list[str], column: str) -> tuple[Decimal | None, tuple[Ref, ...]]:
    lines = [next((f for f in table.funding if f.item == i), None) for i in items]
    values = [getattr(line, column, None) if line else None for line in lines]
    if None in values:
        return None, ()
    per = YUAN_PER[lines[0].amount_unit]
    return sum(values, Decimal(0)) * per / 10000, tuple(funding_ref(line, column) for line in lines)


def _link(forms: Catalogue) -> CrossCheck | None:
    """What the catalogue compares a report with, if anything."""
    spec = forms.forms.get(forms.report_form)
    return spec.cross_check if spec is not None else None


def _cross_pair(report: Document, table: Document, forms: Catalogue) -> Iterator[tuple[str, Hit, Ref | None]]:
    link = _link(forms)
    if link is None:
        return
    spec = forms.forms[link.table]
    tol = forms.tolerances
    for rule_id, figure in link.figures.items():
        amount, refs = _table_amount(table, figure.items, figure.column)
        if amount is None:
            continue
        for fact in facts_of(report, figure.fact):
            if abs(in_wan(fact) - amount) < tol.report_amount:
                continue
            yield rule_id, Hit(
                f"{figure.label}: report {fmt(in_wan(fact))} 万元 ≠ table {fmt(amount)} 万元 (元 / 10000)",
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


def _table_figures(table: Document, link: CrossCheck, forms: Catalogue) -> tuple[Decimal | None, ...]:
    """Every table figure a report is compared with, to tell whether several tables say the same."""
    spec = forms.forms[link.table]
    out = []
    for figure in link.figures.values():
        out.append(_table_amount(table, figure.items, figure.column)[0])
    out.append(_table_amount(table, spec.funding.sources, "executed")[0])
    return tuple(out)


def _tables_of(
    report: Document, tables: list[Document], link: CrossCheck, forms: Catalogue
) -> tuple[list[Document], Finding | None]:
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
    if len(matches) <= 1 or len({_table_figures(t, link, forms) for t in matches}) == 1:
        return matches, None
    if len(exact) == 1:
        return exact, None
    return [], Finding(rule_id=X0.id, severity=X0.severity, field="header.unit_name",
                       message=f"{len(matches)} tables of unit “{head.unit_name}” {head.year} disagree: not compared",
                       expected="one table of the same unit and year", observed=", ".join(t.doc_id for t in matches))


def cross_check(docs: list[Document], forms: Catalogue | None = None) -> dict[str, list[Finding]]:
    """X1–X6 between each report and the table of the same unit and year (the catalogue's `cross_check`).

    A disagreement goes on both documents (doc_id → findings): on the report at the fact, on the
    table at the funding cell when there is one; `expected` is always the table's figure in 万元 and
    `observed` the report's. A report filed with its table appended (a table document that carries
    facts) is compared with that table, and its facts get the report rules X6–X9 here, since its own
    checks are the table's. `forms` defaults to `configs/forms.yaml`.
    """
    forms = forms or default_catalogue()
    link = _link(forms)
    out: dict[str, list[Finding]] = {}
    tables = [d for d in docs if link is not None and d.header.form_type == link.table]
    for report in docs:
        if not report.facts:
            continue
        if forms.is_report(report.header.form_type):
            described, x0 = _tables_of(report, tables, link, forms) if link is not None else ([], None)
            if x0 is not None:
                out.setdefault(report.doc_id, []).append(x0)
        else:
            as_report = report.model_copy(update={"header": report.header.model_copy(
                update={"form_type": forms.report_form})})
            out.setdefault(report.doc_id, []).extend(
                rule.finding(hit) for rule, hit in evaluate(as_report, forms, only=REPORT_RULES))
            described = [report] if link is not None and report.header.form_type == link.table else []
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
