"""The OCR engine protocol: image crops in, text with confidence out.

Engines are small adapters behind one protocol so the reader (`pipeline.read`) and the
benchmark can swap them by name. The grid already says where the text is, so the main call is
`recognize` on text-line crops; `detect_lines` finds text lines in a larger image (a multi-line
cell, a narrative page) for engines that have a detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..types import BBox


@dataclass(frozen=True)
class LineResult:
    """One text line as read.

    `confidence` is in 0–1 and is the engine's weakest character (a line is only as sure as its
    least sure character). `alternatives` are other full readings of the line the engine found
    plausible, best first (e.g. `1.00` for `L00`); the corrector may pick one when the lexicon or
    arithmetic says so.
    """

    text: str
    confidence: float
    alternatives: tuple[str, ...] = ()


@runtime_checkable
class OcrEngine(Protocol):
    """What every engine offers. Crops are BGR uint8 arrays, one text line each."""

    name: str

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        """Read each crop as one line of text; the result has one entry per crop, in order."""
        ...

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        """Text-line boxes in `image` pixels, top to bottom then left to right."""
        ...
