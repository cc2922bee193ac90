"""Cell addressing: a `Ref` names one value of a document, the way findings and corrections do.

Cells are named by `Ref`, and the same names are used in `Finding.field` / `Correction.field`:

    indicator row    seq=N, field "max_score" / "score" / "target" / "actual" / "deviation_reason" / …
    funding line     field "funding.<item>.<field>", e.g. "funding.基本支出.budget"
    总分 row          field "totals.max_score" / "totals.score"
    header           field "header.<field>", e.g. "header.year"
    report fact      field "fact.<key>", e.g. "fact.total_budget"

A finding about a whole column or sum (e.g. Σ分值) has no single cell: its field names the column
("max_score", "funding.budget") and its seq is empty. The rules, repair and the review pages all
address values through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..records import Document, FundingLine, Indicator, Provenance

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

