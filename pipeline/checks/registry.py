"""Rule functions → findings: one registry of every rule id, and the context a rule reads.

The rules are those of `shared/domain/RULES.md` §2.1; the figures they compare against come from
the form catalogue (`configs/forms.yaml`), never from code, and so does which rules apply to which
form. Each rule has a stable id and a *basis* — how sure we are that the rule itself is right — and
its severity follows from that basis: a sourced, seed-observed, form-layout or arithmetic rule
gives `error`, an inferred or remembered one `warning`, and a diagnostic about the reading itself
`warning` (the rows it is about are flagged for review on their own).

Every id that can appear in findings.csv is here: the per-document rules, registered with their
function by `@rule` in the family modules (header, funding, indicators, structure, report), and the
cross-document ones (X0–X5, `cross.py`), which compare two documents and have no function of their
own. `Hit.refs` lists every cell a check used, which is what arithmetic repair needs to know which
values could explain a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..forms.catalog import Catalogue
from ..records import Document, Finding, FundingLine, Indicator, Severity
from .cells import Ref

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
    """A registered rule; `fn` is None for a cross-document rule (it needs two documents)."""

    id: str
    basis: Basis
    fn: Callable[[Context], Iterable[Hit]] | None = None

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


def rule(rule_id: str, basis: Basis):
    """Register a per-document rule function under its id (the catalogue says which forms it checks)."""

    def register(fn: Callable[[Context], Iterable[Hit]]) -> Callable[[Context], Iterable[Hit]]:
        assert rule_id not in REGISTRY, rule_id
        REGISTRY[rule_id] = Rule(rule_id, basis, fn)
        return fn

    return register


def cross_rule(rule_id: str, basis: Basis) -> Rule:
    """Register a rule that compares documents with each other (`cross.cross_check` raises it)."""
    assert rule_id not in REGISTRY, rule_id
    REGISTRY[rule_id] = Rule(rule_id, basis)
    return REGISTRY[rule_id]


class Context:
    """A document with what every rule needs: its form spec, funding by item, each row's 一级."""

    def __init__(self, doc: Document, forms: Catalogue):
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


def evaluate(doc: Document, forms: Catalogue, only: Iterable[str] | None = None) -> list[tuple[Rule, Hit]]:
    """Run the registered rules the catalogue gives this form type (or just `only`), in registry order."""
    ctx = Context(doc, forms)
    applies = forms.rules_for(doc.header.form_type)
    wanted = set(only) if only is not None else None
    out: list[tuple[Rule, Hit]] = []
    for registered in REGISTRY.values():
        if registered.fn is None or registered.id not in applies:
            continue
        if wanted is None or registered.id in wanted:
            out.extend((registered, hit) for hit in registered.fn(ctx))
    return out


def check(doc: Document, forms: Catalogue) -> list[Finding]:
    """Every rule of RULES.md §2.1 the document's records support, as findings."""
    return [registered.finding(hit) for registered, hit in evaluate(doc, forms)]


def runs(rows: list[tuple[Indicator, str]]) -> Iterator[tuple[list[Indicator], str]]:
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


def rows_label(run: list[Indicator]) -> str:
    return f"row {run[0].seq}" if len(run) == 1 else f"rows {run[0].seq}–{run[-1].seq}"
