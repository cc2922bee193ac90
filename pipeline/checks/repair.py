"""Arithmetic repair: the sums and rates of a form can tell which one digit OCR got wrong.

When a sum or rate rule fails and exactly one uncertain value — read with low confidence, or lost
from a row flagged as cut — can be changed so that every rule it takes part in holds, the change is
proposed: the value is replaced, a `Correction(kind="arithmetic")` records old and new text, and the
row is flagged for review. The change must be *plausible* for a reader's slip: one digit replaced,
dropped or added, the decimal point dropped, added or moved, a stray minus dropped — or, for a lost
number, the one value its sum leaves. Nothing is repaired when two different changes (of one cell
or of two cells) would explain the same failure: a wrong number is worse than a flagged one.

Text-route values have confidence 1 and are never touched: the rules then only report.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..forms.catalog import Catalogue, default_catalogue
from ..records import Correction, Document
from .cells import Ref, provenance_of, value_of
from .registry import Hit, Rule, evaluate

TRIGGERS = ("F1", "F2", "F3", "P1", "P2", "P3", "I1", "I2", "I3")
"""Sum and rate rules: a failure of one of these is what a repair may explain."""
GUARDS = (*TRIGGERS, "I4", "I5", "P5")
"""Rules a repaired value must satisfy too (a score within its 分值, the template's 分值)."""

Failure = tuple[str, tuple]


@dataclass(frozen=True)
class Fix:
    ref: Ref
    value: Decimal
    resolved: frozenset[Failure]
    evidence: float


def repair(doc: Document, review_confidence: float, forms: Catalogue | None = None) -> Document:
    """A copy of `doc` with every unambiguous arithmetic repair applied (the input is not changed).

    Repairs are applied one at a time, each found afresh on the document the previous one left, so
    that two repairs never rely on each other's unrepaired values.
    """
    forms = forms or default_catalogue()
    for _ in range(len(doc.indicators) + len(doc.funding) + 2):
        fix = _next_fix(doc, forms, review_confidence)
        if fix is None:
            break
        doc = _apply(doc, fix)
    return doc


def _failures(doc: Document, forms: Catalogue) -> dict[Failure, tuple[Rule, Hit]]:
    return {(rule.id, hit.identity): (rule, hit) for rule, hit in evaluate(doc, forms, GUARDS)}


def _confidence(doc: Document, ref: Ref) -> float:
    prov = provenance_of(doc, ref)
    return prov.confidence if prov is not None else 1.0


def _flagged_row(doc: Document, ref: Ref) -> bool:
    return ref.part == "indicator" and any(i.seq == ref.key and i.needs_review for i in doc.indicators)


REPAIRABLE = {
    "indicator": {"max_score", "score"},
    "funding": {"initial_budget", "budget", "executed", "execution_rate", "max_score", "score"},
    "totals": {"max_score", "score"},
}
"""Numbers a repair may change: scores and amounts, not labels, weights or texts."""


def _suspects(doc: Document, failing: list[Hit], threshold: float) -> dict[Ref, set[Decimal]]:
    """Uncertain cells of the failing checks, each with the values it could plausibly have had.

    A cell is uncertain when it was read below the review confidence, or lost from a row flagged
    while reading. A failing sum says exactly which value each of its terms would need; a term can
    only be repaired to that value, and only if it is one reading slip away (or was lost).
    """
    candidates: dict[Ref, set[Decimal] | None] = {}
    for hit in failing:
        needs = dict(hit.needs) if hit.needs is not None else None
        for ref in hit.cells:
            if ref.field not in REPAIRABLE.get(ref.part, ()):
                continue
            value = value_of(doc, ref)
            if value is None:
                uncertain = _flagged_row(doc, ref)
            else:
                uncertain = isinstance(value, Decimal) and _confidence(doc, ref) < threshold
            if not uncertain:
                continue
            if needs is None:  # a rate: any plausible slip may explain it
                allowed = plausible_values(value) if value is not None else set()
            elif ref not in needs:
                allowed = set()
            elif value is None:  # the value its sum leaves, if the form could have written it (to the cent)
                allowed = {needs[ref]} if needs[ref] >= 0 and -needs[ref].as_tuple().exponent <= CENTS else set()
            else:  # the slip, written as the form writes it (100 → 100.00)
                allowed = {v for v in plausible_values(value) if v == needs[ref]}
            known = candidates.get(ref)
            candidates[ref] = allowed if known is None else known & allowed
    return {ref: values for ref, values in candidates.items() if values}


def _next_fix(doc: Document, forms: Catalogue, threshold: float) -> Fix | None:
    before = _failures(doc, forms)
    failing = [hit for (rule_id, _), (_, hit) in before.items() if rule_id in TRIGGERS]
    if not failing:
        return None
    fixes: list[Fix] = []
    for ref, values in _suspects(doc, failing, threshold).items():
        for value in values:
            after = _failures(_with_value(doc, ref, value), forms)
            if not after.keys() <= before.keys():
                continue  # breaks something that held
            if any(ref in hit.cells for _, hit in after.values()):
                continue  # a rule this cell takes part in still fails
            resolved = frozenset(before.keys() - after.keys())
            if any(key[0] in TRIGGERS for key in resolved):
                fixes.append(Fix(ref, value, resolved, _evidence(doc, before, resolved, ref)))
    for fix in fixes:
        # a rival explains some of the same failures and is not merely a part of this explanation
        rivals = [f for f in fixes if f is not fix and f.resolved & fix.resolved and not f.resolved < fix.resolved]
        if not rivals:
            return fix
    return None


def _evidence(doc: Document, before: dict[Failure, tuple[Rule, Hit]], resolved: frozenset, ref: Ref) -> float:
    """How far the repair can be trusted: the least certain of the other values it was derived from."""
    cells = {c for key in resolved for c in before[key][1].cells if c != ref}
    return min((_confidence(doc, c) for c in cells), default=1.0)


DIGITS = "0123456789"
CENTS = 2
"""Decimal places the forms write figures to: a lost 分值 the sum leaves as `8.697` was derived from
another misread term (`1.303`), not found."""


def plausible_values(value: Decimal) -> set[Decimal]:
    """Values one reading slip away: a digit replaced, dropped or added; the point dropped, added
    or moved; a stray minus dropped. Scale is kept as written (`7.50` stays two decimals)."""
    text = format(value, "f")
    variants: set[str] = set()
    for i, ch in enumerate(text):
        if ch in DIGITS:
            variants.update(text[:i] + d + text[i + 1 :] for d in DIGITS if d != ch)
        variants.add(text[:i] + text[i + 1 :])
    for i in range(len(text) + 1):
        variants.update(text[:i] + d + text[i:] for d in DIGITS)
    bare = text.replace(".", "").lstrip("-")
    variants.update(bare[:i] + "." + bare[i:] for i in range(1, len(bare)))
    out: dict[Decimal, Decimal] = {}
    for variant in sorted(variants):
        digits = variant.lstrip("-")
        if not digits or digits.startswith(".") or digits.endswith("."):
            continue
        if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
            continue  # no reader prints a leading zero
        try:
            candidate = Decimal(variant)
        except InvalidOperation:
            continue
        if candidate == value:
            continue
        # equal values written differently (10.0 / 10.00): keep the one with the cell's decimals
        known = out.get(candidate)
        places = value.as_tuple().exponent
        if known is None or abs(candidate.as_tuple().exponent - places) < abs(known.as_tuple().exponent - places):
            out[candidate] = candidate
    return set(out.values())


def _with_value(doc: Document, ref: Ref, value: Decimal) -> Document:
    if ref.part == "indicator":
        rows = [i.model_copy(update={ref.field: value}) if i.seq == ref.key else i for i in doc.indicators]
        return doc.model_copy(update={"indicators": rows})
    if ref.part == "funding":
        lines = [f.model_copy(update={ref.field: value}) if f.item == ref.key else f for f in doc.funding]
        return doc.model_copy(update={"funding": lines})
    if ref.part == "totals":
        return doc.model_copy(update={"totals": doc.totals.model_copy(update={ref.field: value})})
    raise ValueError(f"arithmetic repair does not change {ref.name}")


def _apply(doc: Document, fix: Fix) -> Document:
    """Replace the value, flag its row, and record the change."""
    ref = fix.ref
    old = value_of(doc, ref)
    prov = provenance_of(doc, ref)
    rules = ", ".join(sorted({key[0] for key in fix.resolved}))
    raw = format(old, "f") if isinstance(old, Decimal) else ""
    new = format(fix.value, "f")
    what = f"{ref.field} {raw or 'lost'} → {new} by arithmetic ({rules})"
    doc = _with_value(doc, ref, fix.value)
    if ref.part == "indicator":
        rows = [
            i.model_copy(update={"needs_review": True, "note": "; ".join(filter(None, (i.note, what)))})
            if i.seq == ref.key
            else i
            for i in doc.indicators
        ]
        doc = doc.model_copy(update={"indicators": rows})
    elif ref.part == "funding":
        lines = [f.model_copy(update={"needs_review": True}) if f.item == ref.key else f for f in doc.funding]
        doc = doc.model_copy(update={"funding": lines})
    page = prov.page if prov else next((i.page for i in doc.indicators if i.seq == ref.seq), None)
    correction = Correction(
        page=page,
        seq=ref.seq,
        field=ref.name,
        raw=raw,
        corrected=new,
        kind="arithmetic",
        confidence=fix.evidence,
    )
    return doc.model_copy(update={"corrections": [*doc.corrections, correction]})
