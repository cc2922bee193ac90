"""OCR engines behind one protocol (`base.OcrEngine`), chosen by name (`registry.get_engine`)."""

from .base import LineResult, OcrEngine
from .registry import ENGINE_NAMES, get_engine

__all__ = ["ENGINE_NAMES", "LineResult", "OcrEngine", "get_engine"]
