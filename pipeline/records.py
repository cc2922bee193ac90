"""Pydantic records of the output contract: what one document yields, with provenance.

Numbers are `Decimal` so that `7.50` stays `7.50` and sums are exact; every value that came
from a cell carries a `Provenance` (page, box, raw text, confidence, engine) in the record's
`provenance` map, keyed by field name, so a reviewer can always go back to the evidence.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

FormType = str
"""A form type of the catalogue (`configs/forms.yaml`: documents.csv's `form_type`), or `UNKNOWN`."""
UNKNOWN: FormType = "unknown"
"""The form type of a document that is no form the catalogue knows."""
# `skipped`: read, but not a form this tool knows (its tables are still kept); `failed`: could not be read.
Status = Literal["ok", "needs_review", "skipped", "failed"]
Severity = Literal["error", "warning", "info"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


TEXT_ENGINES = frozenset({"text", "camelot"})
"""`Provenance.engine` values of a text layer or an extraction: the value was not recognised from
pixels, so it cannot have lost a bar, a point or a wrapped line to the recognizer."""


class Provenance(Record):
    """Where a value came from."""

    page: int | None = None
    bbox: list[int] | None = Field(default=None, description="x0, y0, x1, y1 in page pixels")
    raw: str = Field(default="", description="text as read, before post-correction")
    confidence: float = 1.0
    engine: str = "text"
    source: Literal["read", "review"] = Field(
        default="read", description="read from the document, or decided by a person in `perfscan review`")
    extracted: str | None = Field(
        default=None, description="with source review: the value as read, before the review (as the CSVs write it)")

    @model_serializer(mode="wrap")
    def _unreviewed_as_before(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict:
        """A value nobody reviewed is stored as it always was: no `source`/`extracted` keys, so the
        thousands of provenances of a record do not grow for the few a person decides on."""
        data = handler(self)
        if self.source == "read":
            data.pop("source", None)
            if self.extracted is None:
                data.pop("extracted", None)
        return data


class Header(Record):
    form_type: FormType = UNKNOWN
    year: int | None = None
    unit_name: str = ""
    project_name: str = ""
    supervising_dept: str = ""
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class FundingLine(Record):
    item: str
    amount_unit: Literal["元", "万元"] = "元"
    initial_budget: Decimal | None = None
    budget: Decimal | None = None
    executed: Decimal | None = None
    execution_rate: Decimal | None = Field(default=None, description="percent, e.g. 99.20")
    max_score: Decimal | None = None
    score: Decimal | None = None
    needs_review: bool = False
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class Indicator(Record):
    seq: int
    page: int | None = None
    level1: str = ""
    level1_weight: Decimal | None = None
    level2: str = ""
    level3: str = ""
    target: str = ""
    target_op: str = ""
    target_value: Decimal | None = None
    target_unit: str = ""
    actual: str = ""
    actual_value: Decimal | None = None
    actual_unit: str = ""
    max_score: Decimal | None = None
    score: Decimal | None = None
    deviation_reason: str = ""
    confidence: float = 1.0
    needs_review: bool = False
    note: str = Field(default="", description="why the row needs review, when it does")
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class Totals(Record):
    """The 总分 row as read; both empty when the form has none."""

    max_score: Decimal | None = None
    score: Decimal | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class Fact(Record):
    key: str
    value: Decimal
    unit: str
    text: str
    provenance: Provenance | None = None


class Finding(Record):
    rule_id: str
    severity: Severity
    seq: int | None = None
    field: str = ""
    message: str
    expected: str = ""
    observed: str = ""
    reading: bool = Field(
        default=False,
        description="raised on values whose reading is in doubt: a person checks the page before blaming the form",
    )
    cross: bool = Field(
        default=False,
        description="found against another document of the output folder (report ↔ table): recomputed whenever "
                    "the folder's tables are, since it depends on which documents are there",
    )

    @model_serializer(mode="wrap")
    def _own_as_before(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict:
        """A document's own finding is stored as it always was, without `cross`."""
        data = handler(self)
        if not self.cross:
            data.pop("cross", None)
        return data


class Correction(Record):
    page: int | None = None
    seq: int | None = None
    field: str = ""
    raw: str
    corrected: str
    kind: str
    confidence: float = 1.0


class TableCell(Record):
    """One cell of a ruled table as read: a merged cell once, at its top-left slot."""

    row: int
    col: int
    row_span: int = 1
    col_span: int = 1
    text: str = Field(default="", description="cleaned like every other cell")
    confidence: float = 1.0
    needs_review: bool = False
    provenance: Provenance = Field(default_factory=Provenance)


class Table(Record):
    """A ruled table on one page, whatever the document is: archives want the 决算/预算 tables too."""

    page: int
    table: int = Field(description="1-based order on its page")
    n_rows: int
    n_cols: int
    cells: list[TableCell] = Field(default_factory=list)


class AppliedReview(Record):
    """A person's decision (a row of reviews.csv) as applied to this record, with what it replaced,
    so that the next rebuild can take it back and apply reviews.csv afresh (a decision changed or
    withdrawn leaves no trace of the old one)."""

    seq: int | None = None
    field: str = Field(description="as in reviews.csv: `score`, `funding.财政拨款.budget`, `header.unit_name`, …")
    value: str
    decision: Literal["approved", "corrected"]
    reviewer: str = ""
    time: str = ""
    extracted: str = Field(default="", description="the value as read (CSV text)")
    provenance: Provenance | None = Field(default=None, description="the value's provenance before the review")
    row_flagged: bool = Field(default=False, description="its indicator row / funding line was flagged before")
    row_note: str = ""


class Document(Record):
    doc_id: str
    source_path: str
    sha256: str
    pages: int = 0
    status: Status = "ok"
    message: str = ""
    engine: str = "text"
    form_index: int = Field(default=1, description="1-based place of this form in its file")
    first_page: int | None = Field(default=None, description="the form's first page in its file")
    last_page: int | None = None
    header: Header = Field(default_factory=Header)
    funding: list[FundingLine] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    facts: list[Fact] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    corrections: list[Correction] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    page_images: dict[int, str] = Field(
        default_factory=dict, description="page → image file (relative to the output folder) for review"
    )
    reviews: list[AppliedReview] = Field(default_factory=list, description="reviews.csv decisions applied")

    @model_serializer(mode="wrap")
    def _unreviewed_as_before(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict:
        """A record nobody reviewed is stored as it always was, without `reviews`."""
        data = handler(self)
        if not self.reviews:
            data.pop("reviews", None)
        return data

    @property
    def n_errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)
