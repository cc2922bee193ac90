"""Tables (any route) → the contract's records for one document.

`build_form` recognises the form from its title and headers, then reads the header fields, the
money block, the indicator table with its 总分 row, or — for a narrative report — the figures.
Columns are always found by header text, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..records import Correction, Fact, FundingLine, Header, Indicator, Totals
from ..types import TableGrid
from .fields import FieldReader
from .funding import is_funding_header, read_funding
from .header import detect_form, read_header
from .indicators import is_header, read_indicator_table
from .layout import document_rows
from .report import read_facts


@dataclass(frozen=True)
class FormRecords:
    header: Header
    funding: list[FundingLine] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    facts: list[Fact] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)


def build_form(grids: list[TableGrid]) -> FormRecords:
    rows = document_rows(grids)
    form_type = detect_form(rows)
    reader = FieldReader()
    header = read_header(rows, form_type, reader)
    if form_type == "report":
        facts = read_facts(rows, reader.corrections)
        return FormRecords(header=header, facts=facts, corrections=reader.corrections)
    if form_type == "unknown":
        return FormRecords(header=header, corrections=reader.corrections)

    funding: list[FundingLine] = []
    funding_at = next((i for i, r in enumerate(rows) if is_funding_header(r)), None)
    if funding_at is not None:
        funding = read_funding(rows, funding_at, form_type, reader)

    table_at = next((i for i, r in enumerate(rows) if is_header(r)), None)
    indicators: list[Indicator] = []
    totals = Totals()
    if table_at is not None:
        table = read_indicator_table(rows, table_at, form_type, reader)
        indicators, totals = table.indicators, table.totals
    return FormRecords(header=header, funding=funding, indicators=indicators, totals=totals,
                       corrections=reader.corrections)
