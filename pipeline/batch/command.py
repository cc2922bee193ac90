"""What a batch does to each input: which files it takes, the function a worker runs on each, and
what that function's documents are read with (`perfscan run`, `perfscan import-text`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from .inputs import PDF_AND_IMAGES, TEXT_EXTRACTIONS


@dataclass(frozen=True)
class Command:
    """What a batch does to each input: its process function (`module:function`, imported by the
    workers only), engine name and input suffixes, and what a worker runs once before its first
    document (`module:function` taking the config; models loaded there are start-up, not the
    first document's time)."""

    name: str
    process: str
    engine: str
    suffixes: frozenset[str]
    warm_up: str = ""


def digitize(cfg: Config) -> Command:
    """`perfscan run`: PDFs and images through the text or scan route."""
    return Command("run", "pipeline.document:process_file", cfg.ocr.engine, PDF_AND_IMAGES,
                   warm_up="pipeline.document:warm_up")


def text_import() -> Command:
    """`perfscan import-text`: tab-separated text extractions."""
    return Command("import-text", "pipeline.document:import_text", "text", TEXT_EXTRACTIONS)
