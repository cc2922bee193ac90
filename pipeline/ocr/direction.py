"""PP-OCR's text-line direction classifier (0° or 180°), the small model shipped in the rapidocr wheel.

Used by `orientation` to tell a page fed into the scanner upside down from an upright one: the
grid looks the same both ways, the text does not. It is cheap enough to run on every page.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .base import as_bgr
from .models import verified_model_path
from .rapidocr import make_session

_HEIGHT, _WIDTH = 48, 192  # the model's input: PaddleOCR's cls_image_shape


class DirectionClassifier:
    """P(line is upside down) for text-line crops."""

    def __init__(self) -> None:
        self._session = make_session(str(verified_model_path("ppocr_cls_mobile")), 1)
        self._input = self._session.get_inputs()[0].name

    def upside_down(self, crops: list[np.ndarray]) -> list[float]:
        if not crops:
            return []
        batch = np.zeros((len(crops), 3, _HEIGHT, _WIDTH), dtype=np.float32)
        for i, crop in enumerate(crops):
            crop = as_bgr(crop)
            width = min(_WIDTH, max(1, int(np.ceil(_HEIGHT * crop.shape[1] / max(1, crop.shape[0])))))
            resized = cv2.resize(crop, (width, _HEIGHT)).astype(np.float32)
            batch[i, :, :, :width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        probs = self._session.run(None, {self._input: batch})[0]
        return [float(p[1]) for p in probs]


@lru_cache(maxsize=1)
def direction_classifier() -> DirectionClassifier:
    """One classifier per process (weights verified once)."""
    return DirectionClassifier()
