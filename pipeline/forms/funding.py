"""The money block: 整体支出规模（元） on the unit form, 项目资金（万元） on the project form; its items and
value columns are the catalogue's.

Row labels are fixed by the form, so they say how many values a cell must hold: a scan whose
rows merged gives `459.80 0.00` in one cell and `上年结转资金 其他资金` in one label cell. The
labels of the block are read in order, each value column's tokens in order, and zipped when the
counts agree; where they do not, values are assigned row by row and the line is flagged.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from ..correct import parse_decimal, split_values
from ..records import FundingLine, Provenance
from ..types import Cell
from .catalog import Catalogue
from .fields import FieldReader, provenance
from .layout import Column, Row, column_lines, label_of, map_columns, split_joined

PLACEHOLDER = re.compile(r"^[-—–一_/]+$")
BLOCK_ROWS = 4
"""Rows under the money block's header whose column rulings split a header cell named for two columns."""


def is_funding_header(row: Row, catalogue: Catalogue) -> bool:
    cols = map_columns(row, catalogue.columns.funding)
    return "budget" in cols and "executed" in cols


def _labels_in(text: str, items: tuple[str, ...]) -> list[str]:
    """Canonical items named in a label cell, in reading order (`当年财政拨款` is not `财政拨款` twice)."""
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    for item in sorted(items, key=len, reverse=True):
        for m in re.finditer(re.escape(item), text):
            span = range(m.start(), m.end())
            if not any(set(span) & set(t) for t in taken):
                found.append((m.start(), item))
                taken.append(span)
    return [item for _, item in sorted(found)]


def read_funding(
    rows: list[Row], header_index: int, form_type: str, reader: FieldReader, catalogue: Catalogue
) -> list[FundingLine]:
    """The lines of the money block under `rows[header_index]`, one per item of the form's catalogue entry."""
    header = rows[header_index]
    order = tuple(catalogue.columns.funding)
    below = column_lines([r for r in rows[header_index + 1 : header_index + 1 + BLOCK_ROWS] if r.page == header.page])
    cols = split_joined(map_columns(header, catalogue.columns.funding), order, [float(x) for x in below])
    items = tuple(catalogue.forms[form_type].funding.items)
    unit = _amount_unit(rows, header_index)

    block: list[tuple[Row, list[str]]] = []
    for row in rows[header_index + 1 :]:
        value_cells = [c for col in cols.values() for c in row.under(col)]
        label_cells = [c for c in row.unique_cells() if all(c is not v for v in value_cells)]
        labels = _labels_in(label_of(" ".join(c.text for c in label_cells)), items)
        if not labels:
            if block and not row.is_blank():
                break
            continue
        reader.text(label_cells, "name", "funding.item")  # audit label fixes
        block.append((row, labels))

    labels_all = [label for _, labels in block for label in labels]
    tokens: dict[str, list[tuple[str, Row]]] = {}
    for name, col in cols.items():
        tokens[name] = _column_tokens(block, col)

    values: dict[str, dict[str, tuple[str, Row]]] = {item: {} for item in labels_all}
    unsure: set[str] = set()
    for name, toks in tokens.items():
        if len(toks) == len(labels_all):
            for item, tok in zip(labels_all, toks):
                values[item][name] = tok
            continue
        for row, labels in block:
            row_toks = split_values(_text(row, cols[name]))
            if len(row_toks) > len(labels):
                unsure.update(labels)  # a cell over several lines: which value is whose is a guess
            for i, item in enumerate(labels):
                if i < len(row_toks):
                    values[item][name] = (row_toks[i], row)
                elif name not in ("max_score", "score"):
                    unsure.add(item)

    lines = []
    for item in items:
        if item not in values:
            continue
        fields: dict[str, Decimal | None] = {}
        prov: dict[str, Provenance] = {}
        for name, (tok, row) in values[item].items():
            cell = row.under(cols[name])[0]
            if PLACEHOLDER.match(tok):
                fields[name] = None
                continue
            text, _ = reader.text([replace(cell, text=tok)], "number", f"funding.{item}.{name}")
            fields[name] = parse_decimal(text)
            if fields[name] is None:
                unsure.add(item)
            prov[name] = provenance([cell], cell.text)
        lines.append(FundingLine(item=item, amount_unit=unit, needs_review=item in unsure,
                                 provenance=prov, **fields))
    return lines


def _column_tokens(block: list[tuple[Row, list[str]]], column: Column) -> list[tuple[str, Row]]:
    """A value column's tokens down the block, each cell counted once: a cell over two lines (their
    ruling lost) holds both lines' values and is under both rows."""
    seen: list[Cell] = []
    out: list[tuple[str, Row]] = []
    for row, _ in block:
        cells = [c for c in row.under(column) if all(c is not s for s in seen)]
        seen.extend(cells)
        out.extend((tok, row) for tok in split_values(" ".join(c.text for c in cells)))
    return out


def _text(row: Row, column: Column) -> str:
    return " ".join(c.text for c in row.under(column))


def _amount_unit(rows: list[Row], header_index: int) -> str:
    for row in rows[max(0, header_index - 1) : header_index + 3]:
        text = row.joined_label()
        if "万元" in text:
            return "万元"
        if re.search(r"[（(]元[)）]", text):
            return "元"
    return "元"
