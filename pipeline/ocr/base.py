"""The OCR engine protocol: image crops in, text with confidence out.

Engines are small adapters behind one protocol so the reader (`pipeline.scan.read`) and the
benchmark can swap them by name. The grid already says where the text is, so the main call is
`recognize` on text-line crops; `detect_lines` finds text lines in a larger image (a multi-line
cell, a narrative page) for engines that have a detector. The helpers every engine needs (crops as
BGR, detector quads as boxes in reading order, thread count) are here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
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


def session_threads(threads: int) -> int:
    """Recognizer threads: as configured (`OcrConfig.threads`; a batch sets it per worker), else the cores."""
    if threads > 0:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def as_bgr(crop: np.ndarray) -> np.ndarray:
    if crop.ndim == 2:
        return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    if crop.shape[2] == 4:
        return cv2.cvtColor(crop, cv2.COLOR_BGRA2BGR)
    return crop


def quad_to_bbox(quad: np.ndarray, shape: tuple[int, ...]) -> BBox:
    h, w = shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    return BBox(max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1)))


def sort_boxes(boxes: list[BBox]) -> list[BBox]:
    """Reading order: lines whose vertical centres are within half a line height share a row."""
    boxes = sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2)
    rows: list[list[BBox]] = []
    for box in boxes:
        centre = (box.y0 + box.y1) / 2
        if rows:
            last = rows[-1][-1]
            if abs(centre - (last.y0 + last.y1) / 2) <= max(last.height, box.height) / 2:
                rows[-1].append(box)
                continue
        rows.append([box])
    return [b for row in rows for b in sorted(row, key=lambda b: b.x0)]
