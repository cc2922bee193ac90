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
# Ready engines of this process, by (name, config, workers): building one verifies weights and
# warms up sessions (~0.5 s, hundreds of MB), which a caller asking once per page must not repeat.
_READY: dict[tuple[str, str, int], OcrEngine] = {}


def get_engine(name: str, cfg: OcrConfig, *, workers: int = 1) -> OcrEngine:
    """A ready engine (weights verified, sessions warmed up), built once per process and config.

    `workers` is how many processes share the machine; with `cfg.threads == 0` each engine takes
    cores // workers threads, so parallel workers do not oversubscribe the CPU.
    """
    if name not in _ENGINES:
        raise UsageError(f"unknown OCR engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}")
    key = (name, cfg.model_dump_json(), workers)
    if key not in _READY:
        module_name, class_name = _ENGINES[name]
        engine_class = getattr(importlib.import_module(module_name), class_name)
        _READY[key] = engine_class(cfg, workers=workers)
    return _READY[key]
