"""Reading one field from one or more cells: post-correction, provenance and the audit trail.

Form builders know which row (`seq`) and field a cell feeds; this is where that knowledge is
attached to the corrections `correct.py` makes, and where each value gets its `Provenance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..correct import FieldKind, correct, parse_decimal
from ..records import Correction, Provenance
from ..types import BBox, Cell


@dataclass
class FieldReader:
    """Collects the corrections made while a document's fields are read."""

    corrections: list[Correction] = field(default_factory=list)

    def text(
        self, cells: list[Cell], kind: FieldKind, name: str, seq: int | None = None
    ) -> tuple[str, Provenance | None]:
        """Cleaned text of the cells (joined left to right) and where it came from."""
        cells = [c for c in cells if c is not None and c.text.strip()]
        if not cells:
            return "", None
        raw = " ".join(c.text.strip() for c in cells)
        result = correct(raw, kind)
        confidence = min(c.confidence for c in cells)
        page = cells[0].page
        if len(cells) > 1:
            self.corrections.append(
                Correction(page=page, seq=seq, field=name, raw=" | ".join(c.text for c in cells),
                           corrected=raw, kind="merged_columns", confidence=confidence)
            )
        for change in result.changes:
            self.corrections.append(
                Correction(page=page, seq=seq, field=name, raw=change.before, corrected=change.after,
                           kind=change.kind, confidence=confidence)
            )
        return result.text, provenance(cells, raw)

    def number(
        self, cells: list[Cell], name: str, seq: int | None = None
    ) -> tuple[Decimal | None, str, Provenance | None]:
        text, prov = self.text(cells, "number", name, seq)
        return parse_decimal(text), text, prov


def provenance(cells: list[Cell], raw: str) -> Provenance:
    boxes = [c.bbox for c in cells if c.bbox is not None]
    bbox = None
    if boxes:
        bbox = BBox(min(b.x0 for b in boxes), min(b.y0 for b in boxes),
                    max(b.x1 for b in boxes), max(b.y1 for b in boxes)).as_list()
    return Provenance(
        page=cells[0].page, bbox=bbox, raw=raw,
        confidence=min(c.confidence for c in cells), engine=cells[0].engine,
    )
