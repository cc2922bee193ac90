"""Which fixture documents the benchmark reads, their truth, and their pages as images.

Every system reads the same pages: scanned fixtures are rendered at the resolution they were
scanned at (the manifest's dpi), so a peer sees the pixels perfscan sees, neither up- nor
down-sampled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from pipeline.records import Document

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
QUICK = ("p103_scan", "p104_scan")  # one page each: a smoke run while developing
QUICK_DIGITAL = ("p103_digital",)


@dataclass(frozen=True)
class PageRef:
    """One page of one fixture: what a peer is asked to read."""

    fixture: str
    path: Path
    index: int  # 0-based
    dpi: int


@lru_cache(maxsize=1)
def manifest() -> dict[str, dict]:
    return json.loads((FIXTURES / "manifest.json").read_text("utf-8"))


TABLE_FORMS = ("unit_overall", "project")


def fixtures_of_kind(kind: str) -> list[str]:
    """Fixture names of one manifest kind (`scan`, `born_digital`), in manifest order."""
    return [name for name, entry in manifest().items() if entry["kind"] == kind]


def table_forms(kind: str) -> list[str]:
    """Fixtures of `kind` that are 自评表 forms: the ruled tables every system is asked to read.
    Narrative reports have no indicator table, so they would add time and no accuracy."""
    return [name for name in fixtures_of_kind(kind) if manifest()[name]["form"] in TABLE_FORMS]


def pdf_path(name: str) -> Path:
    return FIXTURES / "docs" / f"{name}.pdf"


def truth(name: str) -> Document:
    return Document.model_validate_json((FIXTURES / "truth" / f"{name}.json").read_text("utf-8"))


def pages(names: list[str]) -> list[PageRef]:
    """Every page of the named fixtures, in order. Born-digital pages get 200 dpi for rendering."""
    out = []
    for name in names:
        entry = manifest()[name]
        out += [PageRef(name, pdf_path(name), i, entry["dpi"] or 200) for i in range(entry["pages"])]
    return out


def render(page: PageRef) -> np.ndarray:
    """The page as a BGR uint8 array at its scan resolution (pypdfium2: ~0.06 s a page)."""
    pdf = pdfium.PdfDocument(page.path)
    pdf_page = pdf[page.index]
    bitmap = pdf_page.render(scale=page.dpi / 72)
    rgb = np.asarray(bitmap.to_pil().convert("RGB"))
    for handle in (bitmap, pdf_page, pdf):  # children first: pdfium warns when a parent goes first
        handle.close()
    return np.ascontiguousarray(rgb[:, :, ::-1])
