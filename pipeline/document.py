"""One file end to end: `process_file` (and `import_text`) chain the stages; the batch never sees them.

    path ─► pages (text layer | scan) ─► TableGrid per table ─► split into forms ─► each form:
    records + its ruled tables ─► assess (repair, rules, status) ─► Document per form

Only this module decides which route a page takes: a trustworthy text layer goes through camelot,
a scan or an untrusted OCR layer goes through grid detection and OCR (`scan.page`). Page images of
scanned pages go out as JPEG bytes (to the worker's page-image sink, else in the result) so the review
page can show the evidence.

A file may bind several forms (`split_forms`); each is a Document of its own, the first named by
the file's hash and the next ones `-2`, `-3`, …, all returned together so the batch commits them
together. A file that is readable but holds no form this tool knows is one `skipped` Document that
says what was seen; its ruled tables are kept like any form's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .checks.assess import assess
from .checks.verify import verify
from .config import Config
from .forms import FormRecords, build_form, split_forms
from .forms.catalog import Catalogue, load_catalogue
from .forms.tables import read_tables
from .ingest.textinput import read_text_file, text_to_grids
from .outputs.folder import page_image_name
from .records import UNKNOWN, Document, Table
from .scan.spool import GridSpool
from .types import Cell, TableGrid

if TYPE_CHECKING:
    from .ingest.imaging import PageInfo
    from .ocr.base import OcrEngine


@dataclass(frozen=True)
class ProcessedDocument:
    """A file's records, one per form it binds, and the JPEGs of its scanned pages that were not
    handed out as they were made (see `process_file`'s `page_images`)."""

    documents: list[Document]
    page_jpegs: dict[int, bytes] = field(default_factory=dict)

    @property
    def document(self) -> Document:
        """The file's first form: its status says whether the file could be read at all, its
        sha256 is the file's."""
        return self.documents[0]


PageImageSink = Callable[[int, bytes], None]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def form_doc_id(sha: str, form_index: int) -> str:
    """The contract's doc_id: the file's hash for its first form, `-2`, `-3`, … for the next ones."""
    return sha[:16] if form_index == 1 else f"{sha[:16]}-{form_index}"


@dataclass(frozen=True)
class _Form:
    """One form of a file: its records, its pages (first, last) and its ruled tables."""

    records: FormRecords
    first_page: int
    last_page: int
    tables: list[Table]
    engine: str
    seen: str  # what the form's pages held, for the message of a skipped document


def _document(path: Path, sha: str, index: int, form: _Form) -> Document:
    records = form.records
    return Document(
        doc_id=form_doc_id(sha, index), source_path=str(path), sha256=sha,
        pages=form.last_page - form.first_page + 1, engine=form.engine, form_index=index,
        first_page=form.first_page, last_page=form.last_page, header=records.header,
        funding=records.funding, indicators=records.indicators, totals=records.totals, facts=records.facts,
        corrections=records.corrections, tables=form.tables,
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


def finish(doc: Document, cfg: Config, catalogue: Catalogue, seen: str = "") -> Document:
    """Checks and status: every document, whatever its route, leaves through here. A document that
    is not a form is `skipped`, its message saying what its pages held (`seen`)."""
    if doc.header.form_type == UNKNOWN:
        return doc.model_copy(update={"status": "skipped", "message": f"not a form perfscan knows: {seen}"})
    doc = verify(flag_low_confidence(doc, cfg.read.review_confidence), catalogue)
    return assess(doc, catalogue, cfg.read.review_confidence)


def _documents(path: Path, sha: str, grids: list[TableGrid], ruled: list[TableGrid], n_pages: int,
               engines: dict[int, str], cfg: Config) -> list[Document]:
    """The file's forms, each built from its own pages' grids and checked on its own. A form runs
    from the page its title or header block is on to the page before the next form's."""
    catalogue = load_catalogue(cfg.rules.forms_path)
    groups = split_forms(grids, catalogue) or [[]]
    firsts = [1] + [group[0].page for group in groups[1:]]
    lasts = [first - 1 for first in firsts[1:]] + [max(n_pages, firsts[-1])]
    docs = []
    for index, (group, first, last) in enumerate(zip(groups, firsts, lasts, strict=True), start=1):
        tables = read_tables([t for t in ruled if first <= t.page <= last], cfg.read.review_confidence)
        used = {engines[p] for p in range(first, last + 1) if p in engines}
        form = _Form(build_form(group, catalogue), first, last, tables, "+".join(sorted(used)) or "text",
                     _seen(group, tables, last - first + 1))
        docs.append(finish(_document(path, sha, index, form), cfg, catalogue, form.seen))
    return docs


SEEN_TABLES = 6
SEEN_CHARS = 40


def _seen(grids: list[TableGrid], tables: list[Table], pages: int) -> str:
    """What a document's pages held, in a line: pages, ruled tables (page, rows × columns), first text."""
    parts = [f"{pages} page{'s' if pages != 1 else ''}"]
    if tables:
        sizes = ", ".join(f"p{t.page} {t.n_rows}×{t.n_cols}" for t in tables[:SEEN_TABLES])
        more = ", …" if len(tables) > SEEN_TABLES else ""
        parts.append(f"{len(tables)} table{'s' if len(tables) != 1 else ''} ({sizes}{more})")
    else:
        parts.append("no table")
    first = next((" ".join(c.text.split()) for g in grids for c in g.cells if c.text.strip()), "")
    parts.append(f"first text “{first[:SEEN_CHARS]}”" if first else "no text")
    return ", ".join(parts)


def import_text(path: Path, cfg: Config, sha256: str = "") -> ProcessedDocument:
    """`perfscan import-text`: a tab-separated extraction of one file (no rulings: no tables kept).
    `sha256`: the file's hash if the caller has it (the batch does), so the file is not read once
    more to make it."""
    sha = sha256 or file_sha256(path)
    grids = text_to_grids(read_text_file(path))
    return ProcessedDocument(_documents(path, sha, grids, [], len(grids), {}, cfg))


def warm_up(cfg: Config) -> None:
    """Load the OCR engine and take the scan route's first calls on a small ruled page, so a
    worker's first document does not pay them (a worker calls this before its first task)."""
    import numpy as np

    from .ocr.registry import get_engine
    from .scan.page import prepare, read
    from .types import PageImage

    page = np.full((400, 600, 3), 255, np.uint8)
    for y in (40, 200, 360):
        page[y : y + 2, 40:560] = 0
    for x in (40, 300, 558):
        page[40:362, x : x + 2] = 0
    page[100:120, 80:200] = 0  # a bar of "text" in one cell
    read(prepare(PageImage(page=1, image=page, dpi=200.0), cfg), get_engine(cfg.ocr.engine, cfg.ocr))


def process_file(path: Path, cfg: Config, page_images: PageImageSink | None = None,
                 page_count: Callable[[int], None] | None = None, sha256: str = "") -> ProcessedDocument:
    """`perfscan run`: a PDF or image, page by page through the route its kind calls for.

    Each scanned page's review JPEG (~0.4 MB at 200 dpi) goes to `page_images(page, jpeg)` as soon
    as it is made, so a 500-page document does not hold 500 of them until its end; without a sink
    they are returned in `ProcessedDocument.page_jpegs`. `page_count(n)` is told the number of pages
    once the file is open (a long document is given more time). `sha256`: as for `import_text`.
    """
    from .ingest.imaging import open_document
    from .ocr.registry import get_engine
    from .scan.page import PreparedPage, prepare, read

    sha = sha256 or file_sha256(path)
    jpegs: dict[int, bytes] = {}
    scanned: list[int] = []
    engines: dict[int, str] = {}  # page → how it was read
    ruled_at: list[int] = []  # positions of the ruled tables among the spooled grids
    spooled = 0
    engine: OcrEngine | None = None  # looked up at the first scanned page (a born-digital file needs none)
    # A page's grids go to the spool as soon as they are read (see `GridSpool`). One page ahead is
    # loaded (and, if scanned, prepared) on a second thread while this one reads the current page;
    # that thread is the only one touching the PDF (pdfium is not thread-safe). Exiting the inner
    # `with` waits for it before the document is closed; the grids come back after that, with the
    # PDF closed and no page being read.
    with GridSpool() as spool:
        with open_document(path, cfg.imaging) as source, ThreadPoolExecutor(1, "perfscan-ahead") as ahead:
            if page_count is not None:
                page_count(source.n_pages)

            def load(info: PageInfo) -> tuple[list[TableGrid], int] | PreparedPage:
                if info.kind == "text":
                    return _text_page(path, source, info.page)
                return prepare(source.page_image(info.page), cfg)

            def keep(grids: list[TableGrid], n_ruled: int) -> None:
                """Spool a page's grids, of which the last `n_ruled` are ruled tables (the others
                are the title band's or a text page's lines)."""
                nonlocal spooled
                spool.add(grids)
                ruled_at.extend(range(spooled + len(grids) - n_ruled, spooled + len(grids)))
                spooled += len(grids)

            upcoming = [ahead.submit(load, info) for info in source.pages[:1]]
            for k, info in enumerate(source.pages):
                loaded = upcoming.pop().result()
                if k + 1 < len(source.pages):
                    upcoming.append(ahead.submit(load, source.pages[k + 1]))
                if isinstance(loaded, tuple):
                    keep(*loaded)
                    engines[info.page] = "camelot"
                    continue
                engine = engine or get_engine(cfg.ocr.engine, cfg.ocr)
                keep(read(loaded, engine), len(loaded.grids))
                engines[info.page] = engine.name
                scanned.append(info.page)
                if page_images is None:
                    jpegs[info.page] = loaded.jpeg
                else:
                    page_images(info.page, loaded.jpeg)
            n_pages = source.n_pages
        grids = spool.read_all()
    ruled = [grids[i] for i in ruled_at]
    docs = _documents(path, sha, grids, ruled, n_pages, engines, cfg)
    del grids, ruled  # what the records need is in them now
    # Page images are named after the file (its first form's doc_id): one image per page, whichever
    # form it belongs to.
    docs = [doc.model_copy(update={"page_images": {
        p: page_image_name(form_doc_id(sha, 1), p) for p in scanned if doc.first_page <= p <= doc.last_page}})
        for doc in docs]
    return ProcessedDocument(docs, jpegs)


def _text_page(path: Path, source, page: int) -> tuple[list[TableGrid], int]:
    """Born-digital page: the lines above the first table (title, year) then camelot's tables, and
    how many tables."""
    import pypdfium2 as pdfium

    from .ingest.textlayer import read_text_tables

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
    return ([head] if lines else []) + tables, len(tables)
