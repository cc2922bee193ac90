"""Tables (any route) → the contract's records for one document.

`build_form` recognises the form from its title and headers, then reads the header fields, the
money block, the indicator table with its 总分 row, or — for a narrative report — the figures.
Columns are always found by header text, never by position.

A file that binds several forms is cut into them first (`split_forms`), so a report and the table
filed after it are two documents. When a table follows a report without a title or header block
of its own, the two stay one document: the narrative pages give the facts, the table pages
everything else, and the document is the table's form (its rules, repair and header apply; the
cross-check compares the facts with the table beside them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..records import Correction, Fact, FundingLine, Header, Indicator, Totals
from ..types import TableGrid
from .catalog import Catalogue, default_catalogue
from .fields import FieldReader
from .funding import is_funding_header, read_funding
from .header import detect_form, read_header
from .indicators import is_header, read_indicator_table
from .layout import document_rows
from .report import narrative_pages, read_report
from .split import split_forms

__all__ = ["Catalogue", "FormRecords", "build_form", "default_catalogue", "split_forms"]


@dataclass(frozen=True)
class FormRecords:
    header: Header
    funding: list[FundingLine] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    facts: list[Fact] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)


def build_form(grids: list[TableGrid], catalogue: Catalogue | None = None) -> FormRecords:
    """The records of one form, which forms are and how they read told by `catalogue` (default:
    configs/forms.yaml)."""
    catalogue = catalogue or default_catalogue()
    narrative = narrative_pages(grids, catalogue)
    tables = [g for g in grids if g.page not in narrative]
    table = _build_table(tables, catalogue) if tables else None
    if table is not None and catalogue.is_table(table.header.form_type):
        if not narrative:
            return table
        report = read_report([g for g in grids if g.page in narrative], catalogue)
        return replace(table, facts=report.facts, corrections=[*report.corrections, *table.corrections])
    if narrative or (table is not None and catalogue.is_report(table.header.form_type)):
        report = read_report(grids, catalogue)  # a report throughout; a table inside it is read as lines of text
        if narrative or report.facts:  # a report's title over running text, not over a table alone
            return FormRecords(header=report.header, facts=report.facts, corrections=report.corrections)
    return FormRecords(header=Header())  # not a form this tool knows


def _build_table(grids: list[TableGrid], catalogue: Catalogue) -> FormRecords:
    rows = document_rows(grids)
    form_type = detect_form(rows, catalogue)
    reader = FieldReader()
    header = read_header(rows, form_type, reader, catalogue)
    if not catalogue.is_table(form_type):
        return FormRecords(header=header, corrections=reader.corrections)

    funding: list[FundingLine] = []
    funding_at = next((i for i, r in enumerate(rows) if is_funding_header(r, catalogue)), None)
    if funding_at is not None:
        funding = read_funding(rows, funding_at, form_type, reader, catalogue)

    table_at = next((i for i, r in enumerate(rows) if is_header(r, catalogue)), None)
    indicators: list[Indicator] = []
    totals = Totals()
    if table_at is not None:
        table = read_indicator_table(rows, table_at, form_type, reader, catalogue)
        indicators, totals = table.indicators, table.totals
    return FormRecords(header=header, funding=funding, indicators=indicators, totals=totals,
                       corrections=reader.corrections)
