"""One document end to end: `process_document` chains the stages; the batch never sees them.

    path ─► pages (text layer | scan) ─► TableGrid per table ─► forms ─► assess (repair, rules,
    status) ─► Document

Only this module decides which route a page takes: a trustworthy text layer goes through camelot,
a scan or an untrusted OCR layer goes through grid detection and OCR. Page images of scanned pages
are handed to export (as JPEG bytes) so the review page can show the evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from .assess import assess
from .config import DEFAULT_CONFIG, Config
from .errors import DocumentError
from .forms import FormRecords, build_form
from .records import Document
from .rules import load_forms_config
from .textinput import read_text_file, text_to_grids
from .types import BBox, Cell, PageImage, TableGrid


@dataclass(frozen=True)
class ProcessedDocument:
    """A document's record, and the JPEGs of its scanned pages that were not handed out as they
    were made (see `process_file`'s `page_images`)."""

    document: Document
    page_jpegs: dict[int, bytes] = field(default_factory=dict)


PageImageSink = Callable[[int, bytes], None]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _document(path: Path, sha: str, pages: int, records: FormRecords, engine: str) -> Document:
    return Document(
        doc_id=sha[:16], source_path=str(path), sha256=sha, pages=pages, engine=engine,
        header=records.header, funding=records.funding, indicators=records.indicators,
        totals=records.totals, facts=records.facts, corrections=records.corrections,
    )


def failed_document(path: Path, reason: str, sha: str = "") -> Document:
    """The record of a document that could not be processed: status failed, the reason in message."""
    if not sha:
        try:
            sha = file_sha256(path)
        except OSError:
            sha = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()
    return Document(doc_id=sha[:16], source_path=str(path), sha256=sha, status="failed", message=reason)


def flag_low_confidence(doc: Document, threshold: float) -> Document:
    """A row or money line read below the review confidence is flagged, with the reason beside it."""
    indicators = [
        i if i.confidence >= threshold or i.needs_review else i.model_copy(update={
            "needs_review": True,
            "note": "; ".join(filter(None, [i.note, f"low OCR confidence {i.confidence:.2f}"])),
        })
        for i in doc.indicators
    ]
    funding = [
        f if f.needs_review or all(p.confidence >= threshold for p in f.provenance.values())
        else f.model_copy(update={"needs_review": True})
        for f in doc.funding
    ]
    return doc.model_copy(update={"indicators": indicators, "funding": funding})


def finish(doc: Document, cfg: Config) -> Document:
    """Checks and status: every document, whatever its route, leaves through here."""
    if doc.header.form_type == "unknown":
        return doc.model_copy(update={
            "status": "failed",
            "message": "unknown form: no 绩效自评表 / 自评报告 title or headers found",
        })
    forms = load_forms_config(DEFAULT_CONFIG.parent / cfg.rules.forms_file)
    doc = flag_low_confidence(doc, cfg.read.review_confidence)
    return assess(doc, forms, cfg.read.review_confidence)


def import_text(path: Path, cfg: Config) -> ProcessedDocument:
    """`perfscan import-text`: a tab-separated extraction of one document."""
    sha = file_sha256(path)
    grids = text_to_grids(read_text_file(path))
    records = build_form(grids)
    doc = _document(path, sha, len(grids), records, engine="text")
    return ProcessedDocument(finish(doc, cfg))


def process_file(path: Path, cfg: Config, page_images: PageImageSink | None = None) -> ProcessedDocument:
    """`perfscan run`: a PDF or image, page by page through the route its kind calls for.

    Each scanned page's review JPEG (~0.4 MB at 200 dpi) goes to `page_images(page, jpeg)` as soon
    as it is made, so a 500-page document does not hold 500 of them until its end; without a sink
    they are returned in `ProcessedDocument.page_jpegs`.
    """
    from .imaging import open_document

    sha = file_sha256(path)
    grids: list[TableGrid] = []
    jpegs: dict[int, bytes] = {}
    scanned: list[int] = []
    engines: set[str] = set()
    with open_document(path, cfg.imaging) as source:
        for info in source.pages:
            if info.kind == "text":
                grids.extend(_text_page(path, source, info.page))
                engines.add("camelot")
            else:
                page_grids, jpeg, engine = _scan_page(source.page_image(info.page), cfg)
                grids.extend(page_grids)
                if page_images is None:
                    jpegs[info.page] = jpeg
                else:
                    page_images(info.page, jpeg)
                scanned.append(info.page)
                engines.add(engine)
        n_pages = source.n_pages
    if not any(g.cells for g in grids):
        raise DocumentError("no table or text found on any page (blank pages, or not a form)")
    records = build_form(grids)
    doc = _document(path, sha, n_pages, records, engine="+".join(sorted(engines)))
    doc = doc.model_copy(update={"page_images": {p: f"pages/{doc.doc_id}-p{p}.jpg" for p in scanned}})
    return ProcessedDocument(finish(doc, cfg), jpegs)


def _text_page(path: Path, source, page: int) -> list[TableGrid]:
    """Born-digital page: the lines above the first table (title, year) then camelot's tables."""
    import pypdfium2 as pdfium

    from .textlayer import read_text_tables

    pdf = pdfium.PdfDocument(str(path))
    try:
        pdf_page = pdf[page - 1]
        height = pdf_page.get_height()
        tables = read_text_tables(path, page, height)
        top = min((c.bbox.y0 for t in tables for c in t.cells if c.bbox), default=height)
        textpage = pdf_page.get_textpage()
        preamble = textpage.get_text_bounded(top=height, bottom=height - top + 1)
    finally:
        pdf.close()
    lines = [line.strip() for line in preamble.splitlines() if line.strip()]
    head = TableGrid(page=page, n_rows=len(lines), n_cols=1, cells=tuple(
        Cell(page=page, row=i, col=0, text=line, engine="camelot") for i, line in enumerate(lines)))
    return ([head] if lines else []) + tables


def _scan_page(image, cfg: Config) -> tuple[list[TableGrid], bytes, str]:
    from .grid import detect_grids
    from .ocr.registry import get_engine
    from .read import read_cells

    engine = get_engine(cfg.ocr.engine, cfg.ocr)
    detected = detect_grids(image, cfg.grid)
    page_image = detected.image
    grids = [read_cells(page_image, grid, engine, cfg.read) for grid in detected.grids]
    head = _preamble(page_image, detected.grids, engine, cfg)
    ok, buf = cv2.imencode(".jpg", page_image.image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return ([head] if head.cells else []) + grids, buf.tobytes() if ok else b"", engine.name


def _preamble(page: PageImage, grids: list[TableGrid], engine, cfg: Config) -> TableGrid:
    """The lines above the first table (title, year: they say which form this is), or the whole
    page when it has no table (a narrative report page).

    Above a table the band is read like one tall cell — text lines found by ink, then recognised —
    because full-page text detection costs seconds a page and the band holds only a few lines.
    A page without a table needs detection: its lines' boxes give reading order and paragraphs.
    """
    from .read import read_cells

    top = min((c.bbox.y0 for g in grids for c in g.cells if c.bbox), default=None)
    if top is None:
        boxes = sorted(engine.detect_lines(page.image), key=lambda b: (b.y0, b.x0))
        results = engine.recognize([page.image[b.y0 : b.y1, b.x0 : b.x1] for b in boxes]) if boxes else []
        cells = tuple(
            Cell(page=page.page, row=i, col=0, text=r.text, confidence=r.confidence, bbox=b, engine=engine.name)
            for i, (b, r) in enumerate(zip(boxes, results, strict=True))
        )
        return TableGrid(page=page.page, n_rows=len(cells), n_cols=1, cells=cells)
    height, width = page.image.shape[:2]
    if top < 10:
        return TableGrid(page=page.page, n_rows=0, n_cols=1)
    band = TableGrid(page=page.page, n_rows=1, n_cols=1,
                     cells=(Cell(page=page.page, row=0, col=0, bbox=BBox(0, 0, width, max(1, top - 2))),))
    read = read_cells(page, band, engine, cfg.read).cells[0]
    lines = [line.strip() for line in read.text.splitlines() if line.strip()]
    cells = tuple(
        Cell(page=page.page, row=i, col=0, text=line, confidence=read.confidence, bbox=read.bbox, engine=engine.name)
        for i, line in enumerate(lines)
    )
    return TableGrid(page=page.page, n_rows=len(cells), n_cols=1, cells=cells)
