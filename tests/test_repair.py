"""Arithmetic repair and the document verdict.

Each planted reading slip is one digit (or the decimal point) of a low-confidence cell in a summed
column of a consistent document: it must come back to the true value, recorded as a correction, its
row flagged. Where two different edits would explain the failure, nothing may be repaired.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from pipeline.checks.assess import add_findings, assess, with_status
from pipeline.checks.cells import Ref, value_of
from pipeline.checks.registry import check
from pipeline.checks.repair import plausible_values, repair
from pipeline.forms.catalog import default_catalogue
from pipeline.records import Document, Finding, Provenance, Totals
from tests.test_rules import project_doc, set_line, set_row, unit_doc

D = Decimal
THRESHOLD = 0.90


def misread(doc: Document, ref: Ref, value: str | None, confidence: float = 0.42) -> Document:
    """The cell `ref` read as `value` with low confidence (None: the number was lost)."""
    prov = Provenance(page=1, bbox=[10, 10, 60, 30], raw=value or "", confidence=confidence, engine="test")
    new = D(value) if value is not None else None

    def update(record):
        return record.model_copy(update={ref.field: new, "provenance": {**record.provenance, ref.field: prov}})

    if ref.part == "indicator":
        return doc.model_copy(update={"indicators": [update(i) if i.seq == ref.key else i for i in doc.indicators]})
    if ref.part == "funding":
        return doc.model_copy(update={"funding": [update(f) if f.item == ref.key else f for f in doc.funding]})
    return doc.model_copy(update={"totals": update(doc.totals)})


IND, FUND, TOT = "indicator", "funding", "totals"
SLIPS: list[tuple[str, Callable[[], Document], Ref, str]] = [
    ("基本支出 预算数 digit", unit_doc, Ref(FUND, "基本支出", "budget"), "16712470.00"),
    ("项目支出 执行数 digit", unit_doc, Ref(FUND, "项目支出", "executed"), "12120703.38"),
    ("财政拨款 预算数 last digit", unit_doc, Ref(FUND, "财政拨款", "budget"), "28855329.02"),
    ("财政拨款 执行数 dropped digit", unit_doc, Ref(FUND, "财政拨款", "executed"), "2862485.82"),
    ("分值 7.50 read 1.50", unit_doc, Ref(IND, 1, "max_score"), "1.50"),
    ("分值 10.20 lost its point", unit_doc, Ref(IND, 2, "max_score"), "1020"),
    ("得分 7.00 read 1.00", unit_doc, Ref(IND, 30, "score"), "1.00"),
    ("得分 2.00 read 2.80", unit_doc, Ref(IND, 12, "score"), "2.80"),
    ("总分 得分 read 160.00", unit_doc, Ref(TOT, "", "score"), "160.00"),
    ("总分 分值 read 700.00", unit_doc, Ref(TOT, "", "max_score"), "700.00"),
    ("当年财政拨款 全年预算数", project_doc, Ref(FUND, "当年财政拨款", "budget"), "828.00"),
    ("年度资金总额 年初预算数", project_doc, Ref(FUND, "年度资金总额", "initial_budget"), "458.80"),
    ("执行率得分 10.00 read 1.00", project_doc, Ref(FUND, "年度资金总额", "score"), "1.00"),
    ("项目 得分 9.00 read 3.00", project_doc, Ref(IND, 6, "score"), "3.00"),
]


@pytest.mark.parametrize("name,build,ref,slip", SLIPS, ids=[s[0] for s in SLIPS])
def test_reading_slip_in_a_sum_is_repaired_and_flagged(name, build, ref, slip):
    truth = build()
    planted = misread(truth, ref, slip)
    assert any(f.severity == "error" for f in check(planted, default_catalogue())), "the slip must break a rule"
    fixed = repair(planted, THRESHOLD)
    assert value_of(fixed, ref) == value_of(truth, ref)
    (correction,) = [c for c in fixed.corrections if c.kind == "arithmetic"]
    assert (correction.field, correction.raw, correction.corrected) == (ref.name, slip, format(value_of(truth, ref), "f"))
    assert correction.seq == ref.seq and correction.page == 1
    if ref.part == IND:
        (row,) = [i for i in fixed.indicators if i.seq == ref.key]
        assert row.needs_review and "arithmetic" in row.note
    if ref.part == FUND:
        assert next(f for f in fixed.funding if f.item == ref.key).needs_review
    assert [f for f in check(fixed, default_catalogue()) if f.severity == "error"] == []
    assert value_of(planted, ref) == D(slip)  # the input is a value: not changed
    verdict = assess(planted, default_catalogue(), THRESHOLD)
    assert verdict.status == "needs_review" and "1 arithmetic repair" in verdict.message


def test_repair_count():
    """The figure quoted in the report: planted slips repaired to the true value."""
    repaired = sum(
        value_of(repair(misread(build(), ref, slip), THRESHOLD), ref) == value_of(build(), ref)
        for _name, build, ref, slip in SLIPS
    )
    assert repaired == len(SLIPS) >= 12


def test_two_cells_that_could_explain_the_sum_are_left_alone():
    # 年初预算数: total 459.80 and its part both uncertain; the part was misread 458.80 — but
    # total 458.80 would satisfy P1 just as well. Which one is wrong is not knowable.
    doc = misread(project_doc(), Ref(FUND, "年度资金总额", "initial_budget"), "459.80")
    doc = misread(doc, Ref(FUND, "当年财政拨款", "initial_budget"), "458.80")
    fixed = repair(doc, THRESHOLD)
    assert fixed == doc
    assert "P1" in {f.rule_id for f in check(fixed, default_catalogue())}


def test_row_or_total_both_fitting_is_ambiguous():
    doc = misread(project_doc(), Ref(IND, 6, "score"), "8.00")  # true 9.00
    doc = misread(doc, Ref(TOT, "", "score"), "99.00")           # true, but 98.00 would also close Σ得分
    assert repair(doc, THRESHOLD) == doc


def test_the_explanation_of_more_failures_wins():
    # every cell uncertain; 得分 7.00 on a 1-point row breaks Σ得分 and 得分 ≤ 分值. Changing the
    # 总分 (100 → 106) would only explain the first; the row's 1.00 explains both.
    doc = unit_doc()
    for ind in doc.indicators:
        doc = misread(doc, Ref(IND, ind.seq, "score"), format(ind.score, "f"), confidence=0.6)
    doc = misread(doc, Ref(TOT, "", "score"), "100.00", confidence=0.6)
    doc = set_row(doc, 21, score=D("7.00"))
    fixed = repair(doc, THRESHOLD)
    assert value_of(fixed, Ref(IND, 21, "score")) == D("1.00") and fixed.totals.score == D("100.00")


def test_confident_values_are_never_changed():
    doc = set_line(unit_doc(), "基本支出", budget=D("16712470.00"))  # text route: confidence 1
    assert repair(doc, THRESHOLD) == doc
    assert assess(doc, default_catalogue(), THRESHOLD).status == "needs_review"


def test_two_slips_in_one_sum_are_not_guessed():
    doc = misread(unit_doc(), Ref(IND, 30, "score"), "1.00")
    doc = misread(doc, Ref(IND, 31, "score"), "1.00")
    fixed = repair(doc, THRESHOLD)
    assert [c for c in fixed.corrections if c.kind == "arithmetic"] == []


def test_lost_number_of_a_cut_row_is_recovered_from_the_total():
    doc = set_row(unit_doc(), 35, score=None, needs_review=True, note="分值 or 得分 missing (row cut by a page break)")
    fixed = repair(doc, THRESHOLD)
    row = fixed.indicators[-1]
    assert row.score == D("10.00") and row.needs_review and "lost → 10.00" in row.note
    (c,) = fixed.corrections
    assert (c.seq, c.field, c.raw, c.corrected, c.kind) == (35, "score", "", "10.00", "arithmetic")


def test_both_numbers_of_a_cut_row_come_back_from_the_total_row():
    doc = set_row(unit_doc(), 35, max_score=None, score=None, needs_review=True, note="cut by a page break")
    fixed = repair(doc, THRESHOLD)
    assert (fixed.indicators[-1].max_score, fixed.indicators[-1].score) == (D("10.00"), D("10.00"))
    assert len(fixed.corrections) == 2


def test_a_lost_number_is_not_filled_with_what_another_misread_leaves():
    """The seal took one 分值 and misread the one beside it (`1.303`): what the sums leave for the
    lost one (`12.697`) is no figure the form writes, and no repair."""
    doc = set_row(unit_doc(), 33, max_score=None, needs_review=True, note="cut by a page break")
    doc = misread(doc, Ref(IND, 34, "max_score"), "1.303")  # 7.00 under the seal; 33 would need 12.697
    fixed = repair(doc, THRESHOLD)
    assert next(i for i in fixed.indicators if i.seq == 33).max_score is None
    assert [c for c in fixed.corrections if c.field == "max_score" and c.seq == 33] == []


def test_without_a_total_row_a_lost_number_stays_unknown():
    doc = set_row(unit_doc(), 12, score=None, needs_review=True, note="cut by a page break")
    doc = doc.model_copy(update={"totals": Totals()})
    assert repair(doc, THRESHOLD) == doc


def test_plausible_values_are_one_slip_away():
    values = plausible_values(D("7.50"))
    assert {D("1.50"), D("75.0"), D("7.59"), D("17.50"), D("750")} <= values
    assert D("7.50") not in values and D("8.60") not in values
    assert D("16712410.00") in plausible_values(D("16712470.00"))
    assert D("10.20") in plausible_values(D("1020"))
    assert D("1.00") in plausible_values(D("-1.00"))


# --- verdict ---------------------------------------------------------------------------------------------

def test_consistent_document_is_ok():
    doc = assess(unit_doc(), default_catalogue(), THRESHOLD)
    assert doc.status == "ok" and doc.message == "" and doc.n_errors == 0 and doc.n_warnings > 0


def test_errors_and_uncertain_cells_say_why():
    doc = set_row(unit_doc(), 8, score=D("1.50"))
    doc = misread(doc, Ref(IND, 9, "score"), "1.00", confidence=0.5)
    verdict = assess(doc, default_catalogue(), THRESHOLD)
    assert verdict.status == "needs_review"
    # I4 rests on trusted cells; I2's sum has the doubtful 得分 among its terms: a reading doubt, not an error
    assert verdict.message.startswith("1 error (I4); 1 reading doubt (I2)") and "1 low-confidence cell" in verdict.message


def test_failed_documents_are_left_alone():
    failed = unit_doc().model_copy(update={"status": "failed", "message": "unreadable"})
    assert assess(failed, default_catalogue(), THRESHOLD) == failed


def test_report_facts_are_checked():
    from tests.test_rules import report_doc, set_fact

    verdict = assess(set_fact(report_doc(), "public_expenditure", "14.98"), default_catalogue(), THRESHOLD)
    assert verdict.status == "needs_review" and "X8" in verdict.message


def test_cross_findings_update_the_status():
    doc = assess(unit_doc(), default_catalogue(), THRESHOLD)
    extra = Finding(rule_id="X3", severity="error", field="funding.基本支出.budget", message="report disagrees")
    after = add_findings(doc, [extra], THRESHOLD)
    assert after.status == "needs_review" and after.message == "1 error (X3)"
    assert with_status(after, THRESHOLD) == after
