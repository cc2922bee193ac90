"""Engines by name. Each engine module is imported only when asked for: PaddleOCR's import alone
takes seconds and hundreds of MB, which a run on rapidocr should not pay."""

from __future__ import annotations

import importlib

from ..config import OcrConfig
from ..errors import UsageError
from .base import OcrEngine

_ENGINES: dict[str, tuple[str, str]] = {
    "rapidocr": ("pipeline.ocr.rapidocr", "RapidOcrEngine"),
    "paddleocr": ("pipeline.ocr.paddleocr", "PaddleOcrEngine"),
    "tesseract": ("pipeline.ocr.tesseract", "TesseractEngine"),
}
ENGINE_NAMES: tuple[str, ...] = tuple(_ENGINES)
# Ready engines of this process, by (name, config): building one verifies weights and warms up
# sessions, which a caller asking once per page must not repeat.
_READY: dict[tuple[str, str], OcrEngine] = {}


def get_engine(name: str, cfg: OcrConfig) -> OcrEngine:
    """A ready engine (weights verified, sessions warmed up), built once per process and config.

    Each engine reads its own options (`cfg.<name>`) and `cfg.threads`, which a batch sets per worker
    so that parallel workers do not oversubscribe the CPU.
    """
    if name not in _ENGINES:
        raise UsageError(f"unknown OCR engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}")
    key = (name, cfg.model_dump_json())
    if key not in _READY:
        module_name, class_name = _ENGINES[name]
        engine_class = getattr(importlib.import_module(module_name), class_name)
        _READY[key] = engine_class(cfg)
    return _READY[key]
