"""The review pages: for every cell a person should look at, the scan beside what was read.

    review/index.html          documents needing review, with their counts; failed, skipped (not a
                               form: what was seen) and ok ones below
    review/DOC_ID.html         one per document: its findings, then each flagged cell — crop of the
                               scan, raw OCR text, the value as corrected, confidence, why it is flagged
    review/DOC_ID-pN.html      the whole page image with the flagged cells' boxes drawn over it

Which cells are flagged is `flagged.collect`'s. Only flagged cells are shown, each with its row
beside it as context; a cell a person has decided on in `perfscan review` says so. A document
without page images (born-digital) links to its PDF's page.

Crops are inlined as data URIs rather than written to `review/crops/`: each document's page is then
one file, written atomically, that a re-run replaces whole — no crop files left behind by an
earlier run, none half-written, and the page can be mailed on its own. A cell crop is a few KB, so
even a poor scan with a hundred flagged cells stays well under a megabyte. Page views draw the boxes
as HTML over the page image the export wrote (`Document.page_images`), so no second full-page JPEG is
encoded. Plain HTML and CSS, no script, no network: it works offline from file://.
"""

from __future__ import annotations

import base64
import io
import os
import posixpath
from collections.abc import Iterable
from html import escape
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from ..checks.cells import Ref
from ..config import ReadConfig
from ..records import Correction, Document, Finding
from .export import cell as _csv_text  # values shown exactly as the CSVs write them
from .flagged import FIELD_LABELS, FlaggedCell, Review, collect, crop_box
from .folder import atomic_write

DEFAULT_REVIEW_CONFIDENCE = ReadConfig.model_fields["review_confidence"].default
CROP_MAX_WIDTH = 640
CROP_MAX_HEIGHT = 360
ROW_CONTEXT = ["level1", "level2", "level3", "target", "actual", "max_score", "score"]


def write_review(out_dir: Path, docs: list[Document], review_confidence: float = DEFAULT_REVIEW_CONFIDENCE,
                 stale: list[str] = ()) -> None:
    """Write `review/` under `out_dir` for these documents (page images are read from `out_dir`);
    `stale` describes the decisions of reviews.csv not applied (their document changed or went)."""
    folder = Path(out_dir) / "review"
    reviews = [collect(doc, review_confidence) for doc in docs]
    for review in reviews:
        images = _page_images(Path(out_dir), review.doc)
        crops = _crops(Path(out_dir), review, images)
        html = _document_page(review, images, crops)
        atomic_write(folder / f"{review.doc.doc_id}.html", html.encode("utf-8"))
        for page, (rel, size) in images.items():
            html = _page_view(review, page, rel, size)
            atomic_write(folder / f"{review.doc.doc_id}-p{page}.html", html.encode("utf-8"))
    atomic_write(folder / "index.html", _index(reviews, stale).encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# what to show


# --------------------------------------------------------------------------------------------------
# images


def _page_images(out_dir: Path, doc: Document) -> dict[int, tuple[str, tuple[int, int]]]:
    """Page → (path relative to out_dir, pixel size) of each page image that is really there."""
    out = {}
    for page, rel in sorted(doc.page_images.items()):
        path = out_dir / rel
        try:
            with Image.open(path) as img:
                out[page] = (rel, img.size)
        except (OSError, ValueError):
            continue  # missing or unreadable: the page shows values without crops
    return out


def _crops(out_dir: Path, review: Review, images: dict[int, tuple[str, tuple[int, int]]]) -> dict[Ref, str]:
    """Cell → data URI of its crop, one decode per page. A merged cell named by several rows is
    cropped once: the later rows link to the first (`_cell_row`)."""
    wanted: dict[int, list[FlaggedCell]] = {}
    seen: set[tuple] = set()
    for cell in review.cells:
        if not (cell.prov and cell.prov.page in images):
            continue
        box = crop_box(cell.prov, images[cell.prov.page][1])
        if box and (cell.prov.page, box) not in seen:
            seen.add((cell.prov.page, box))
            wanted.setdefault(cell.prov.page, []).append(cell)
    out: dict[Ref, str] = {}
    for page, cells in wanted.items():
        rel, size = images[page]
        with Image.open(out_dir / rel) as img:
            img.load()
            for cell in cells:
                crop = img.crop(crop_box(cell.prov, size)).convert("RGB")
                crop.thumbnail((CROP_MAX_WIDTH, CROP_MAX_HEIGHT))
                buf = io.BytesIO()
                crop.save(buf, format="JPEG", quality=85)
                out[cell.ref] = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return out


def _same_box(review: Review, crops: dict[Ref, str]) -> dict[Ref, FlaggedCell]:
    """Cell without its own crop → the earlier cell whose crop shows the same box."""
    first: dict[tuple, FlaggedCell] = {}
    out: dict[Ref, FlaggedCell] = {}
    for cell in review.cells:
        if not (cell.prov and cell.prov.bbox):
            continue
        key = (cell.prov.page, tuple(cell.prov.bbox))
        if cell.ref in crops:
            first.setdefault(key, cell)
        elif key in first:
            out[cell.ref] = first[key]
    return out


# --------------------------------------------------------------------------------------------------
# HTML

STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}
.error{color:#b00020}.warning{color:#8a5a00}.info{color:#555}
.raw{font-family:monospace;white-space:pre-wrap}
.crop img{max-width:420px;border:1px solid #999}
.sheet{position:relative;display:inline-block;max-width:100%}
.sheet img{display:block;max-width:100%}
.box{position:absolute;border:2px solid #e00;background:rgba(255,0,0,.08)}
.box:target{border-color:#00f;background:rgba(0,0,255,.15)}
tr:target{background:#fff6c0}
small{color:#666}
.context{margin:0;font-size:85%}.context th,.context td{padding:.1em .3em}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _href(rel: str) -> str:
    """A link from review/ to a file given relative to the output folder."""
    return escape(quote(posixpath.join("..", rel.replace("\\", "/"))), quote=True)


def _doc_title(doc: Document) -> str:
    head = doc.header
    return head.project_name or head.unit_name or Path(doc.source_path).name


def _finding_items(findings: list[Finding]) -> str:
    """Findings as short lines inside a cell's row."""
    return "".join(
        f'<div class="{escape(f.severity)}"><b>{escape(f.rule_id)}</b> {escape(f.message)}'
        + (f" <small>expected {escape(f.expected)}; seen {escape(f.observed)}</small>" if f.expected or f.observed else "")
        + "</div>"
        for f in findings
    )


def _document_page(review: Review, images: dict[int, tuple[str, tuple[int, int]]], crops: dict[Ref, str]) -> str:
    doc = review.doc
    head = doc.header
    facts = [doc.doc_id, head.form_type, str(head.year or ""), Path(doc.source_path).name, doc.engine]
    parts = [
        '<p><a href="index.html">← all documents</a></p>',
        f"<h1>{escape(_doc_title(doc))}</h1>",
        "<p>" + " · ".join(escape(x) for x in facts if x) + "</p>",
        f'<p>status <b class="{"error" if doc.status != "ok" else "info"}">{escape(doc.status)}</b>'
        + (f" — {escape(doc.message)}" if doc.message else "")
        + f"; {doc.n_errors} errors, {doc.n_warnings} warnings, {len(review.cells)} flagged cells</p>",
    ]
    if images:
        links = []
        for page, (_rel, _size) in images.items():
            n = sum(1 for c in review.cells if c.prov and c.prov.page == page and c.prov.bbox)
            links.append(f'<a href="{escape(doc.doc_id)}-p{page}.html">page {page}</a> <small>({n} boxes)</small>')
        parts.append("<p>Page images: " + " · ".join(links) + "</p>")
    elif (link := source_link(doc, doc.first_page or 1)):
        parts.append(f'<p>No page images (born-digital: read from its text): <a href="{escape(link, quote=True)}">'
                     "the source PDF</a>; each value links to its page.</p>")
    else:
        parts.append("<p><small>No page images (text input): values are shown without crops.</small></p>")
    if review.document_findings:
        parts.append(f"<h2>Findings about the whole document ({len(review.document_findings)})</h2>")
        parts.append(_finding_table(review.document_findings))
    parts.append(f"<h2>Flagged cells ({len(review.cells)})</h2>")
    if review.cells:
        rows = [
            "<tr><th>where</th><th>scan</th><th>raw OCR</th><th>value (corrected)</th>"
            "<th>conf.</th><th>why</th><th>its row</th></tr>"
        ]
        shared = _same_box(review, crops)
        for cell in review.cells:
            rows.append(_cell_row(doc, cell, crops.get(cell.ref), shared.get(cell.ref)))
        parts.append("<table>" + "\n".join(rows) + "</table>")
    else:
        parts.append("<p>Nothing flagged.</p>")
    if doc.corrections:
        parts.append(f"<details><summary>All corrections ({len(doc.corrections)})</summary>")
        parts.append(_correction_table(doc.corrections))
        parts.append("</details>")
    return _page(f"{_doc_title(doc)} — review", "\n".join(parts))


def _cell_row(doc: Document, cell: FlaggedCell, crop: str | None, shared: FlaggedCell | None) -> str:
    prov = cell.prov
    page = prov.page if prov and prov.page else None
    if crop:
        target = f"{doc.doc_id}-p{page}.html#box-{cell.anchor}"
        scan = f'<a href="{escape(target, quote=True)}"><img src="{crop}" alt="{escape(cell.where, quote=True)}"></a>'
    elif shared:
        scan = f'<small>same cell as <a href="#{shared.anchor}">{escape(shared.where)}</a></small>'
    elif page and (link := source_link(doc, page)):
        scan = f'<a href="{escape(link, quote=True)}">PDF page {page}</a>'
    else:
        scan = "<small>no image</small>"
    why = "".join(f"<div><small>{escape(w)}</small></div>" for w in cell.why)
    why += _finding_items(cell.findings)
    why += "".join(
        f"<div><small>{escape(c.kind)}: <span class=raw>{escape(c.raw)}</span> → "
        f"<span class=raw>{escape(c.corrected)}</span></small></div>"
        for c in cell.corrections
    )
    if cell.decided:
        d = cell.decided
        why += (f'<div class="info"><b>{escape(d.decision)}</b> by {escape(d.reviewer or "a reviewer")}'
                + (f" (read: <span class=raw>{escape(d.extracted)}</span>)" if d.decision == "corrected" else "")
                + "</div>")
    confidence = f"{prov.confidence:.2f}" if prov else ""
    return (
        f'<tr id="{cell.anchor}"><td>{escape(cell.where)}'
        + (f"<br><small>page {page}</small>" if page else "")
        + f'</td><td class="crop">{scan}</td>'
        f'<td class="raw">{escape(prov.raw if prov else "")}</td>'
        f'<td class="raw">{escape(cell.value) or "<small>(empty)</small>"}</td>'
        f"<td>{confidence}</td><td>{why}</td><td>{row_context(doc, cell.ref)}</td></tr>"
    )


def row_context(doc: Document, ref: Ref) -> str:
    """The indicator row a cell is on, as a one-line table with the cell in bold (empty for values
    that are not on an indicator row)."""
    if ref.part != "indicator":
        return ""
    ind = next((i for i in doc.indicators if i.seq == ref.key), None)
    if ind is None:
        return ""
    cells = []
    for name in ROW_CONTEXT:
        text = escape(_csv_text(getattr(ind, name)))
        cells.append(f"<td><b>{text}</b></td>" if name == ref.field else f"<td>{text}</td>")
    head = "".join(f"<th>{FIELD_LABELS[name]}</th>" for name in ROW_CONTEXT)
    return f'<table class="context"><tr>{head}</tr><tr>{"".join(cells)}</tr></table>'


def source_link(doc: Document, page: int) -> str:
    """A link to a page of the source PDF (a file: URL, for a browser opened on this machine), or
    "" when the source is not a PDF that is still there."""
    path = Path(os.path.abspath(doc.source_path))  # links are not resolved: a share's may loop
    try:
        if path.suffix.lower() != ".pdf" or not path.is_file():
            return ""
    except OSError:
        return ""
    return f"{path.as_uri()}#page={page}"


def _finding_table(findings: list[Finding]) -> str:
    return _table(("rule", "severity", "message", "expected", "seen"), (
        f'<tr class="{escape(f.severity)}"><td>{escape(f.rule_id)}</td><td>{escape(f.severity)}</td>'
        f"<td>{escape(f.message)}</td><td>{escape(f.expected)}</td><td>{escape(f.observed)}</td></tr>"
        for f in findings))


def _correction_table(corrections: list[Correction]) -> str:
    return _table(("page", "row", "field", "kind", "raw", "corrected"), (
        f"<tr><td>{_csv_text(c.page)}</td><td>{_csv_text(c.seq)}</td><td>{escape(c.field)}</td><td>{escape(c.kind)}</td>"
        f'<td class="raw">{escape(c.raw)}</td><td class="raw">{escape(c.corrected)}</td></tr>'
        for c in corrections))


def _table(head: tuple[str, ...], rows: Iterable[str]) -> str:
    """An HTML table: a header row of `head`, then `rows` (each a ready `<tr>`)."""
    return "<table>" + "\n".join(["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>", *rows]) + "</table>"


def _page_view(review: Review, page: int, rel: str, size: tuple[int, int]) -> str:
    """The page image with a box over each flagged cell; each box links back to its cell."""
    doc = review.doc
    width, height = size
    boxes = []
    for cell in review.cells:
        prov = cell.prov
        if not prov or prov.page != page or not prov.bbox or len(prov.bbox) != 4:
            continue
        x0, y0, x1, y1 = prov.bbox
        style = (
            f"left:{100 * x0 / width:.3f}%;top:{100 * y0 / height:.3f}%;"
            f"width:{100 * (x1 - x0) / width:.3f}%;height:{100 * (y1 - y0) / height:.3f}%"
        )
        title = escape(f"{cell.where}: {cell.value}", quote=True)
        boxes.append(
            f'<a class="box" id="box-{cell.anchor}" style="{style}" title="{title}" '
            f'href="{escape(doc.doc_id)}.html#{cell.anchor}"></a>'
        )
    body = (
        f'<p><a href="{escape(doc.doc_id)}.html">← {escape(_doc_title(doc))}</a> · page {page} · '
        f"{len(boxes)} flagged cells</p>\n"
        f'<div class="sheet"><img src="{_href(rel)}" alt="page {page}" width="{width}" height="{height}">'
        + "".join(boxes)
        + "</div>"
    )
    return _page(f"{_doc_title(doc)} — page {page}", body)


def _index(reviews: list[Review], stale: list[str]) -> str:
    waiting = [r for r in reviews if r.doc.status == "needs_review"]
    failed = [r for r in reviews if r.doc.status == "failed"]
    skipped = [r for r in reviews if r.doc.status == "skipped"]
    fine = [r for r in reviews if r.doc.status == "ok"]
    parts = [
        "<h1>Documents needing review</h1>",
        f"<p>{len(waiting)} need review, {len(failed)} failed, {len(skipped)} skipped (not a form), "
        f"{len(fine)} ok.</p>",
    ]
    if waiting:
        rows = [
            "<tr><th>document</th><th>form</th><th>year</th><th>source</th><th>errors</th><th>warnings</th>"
            "<th>flagged cells</th><th>why</th></tr>"
        ]
        for r in waiting:
            d = r.doc
            rows.append(
                f'<tr><td><a href="{escape(d.doc_id)}.html">{escape(_doc_title(d))}</a>'
                f"<br><small>{escape(d.doc_id)}</small></td><td>{escape(d.header.form_type)}</td>"
                f"<td>{_csv_text(d.header.year)}</td><td>{escape(Path(d.source_path).name)}</td>"
                f'<td class="error">{d.n_errors}</td><td class="warning">{d.n_warnings}</td>'
                f"<td>{len(r.cells)}</td><td>{escape(d.message)}</td></tr>"
            )
        parts.append("<table>" + "\n".join(rows) + "</table>")
    if failed:
        parts.append("<h2>Failed</h2><table><tr><th>source</th><th>why</th></tr>")
        parts += [
            f'<tr><td><a href="{escape(r.doc.doc_id)}.html">{escape(r.doc.source_path)}</a></td>'
            f"<td>{escape(r.doc.message)}</td></tr>"
            for r in failed
        ]
        parts.append("</table>")
    if skipped:
        parts.append(f"<details><summary>Skipped: not a form perfscan knows ({len(skipped)}; their tables are in "
                     "tables.csv)</summary><table><tr><th>source</th><th>what was seen</th></tr>")
        parts += [
            f'<tr><td><a href="{escape(r.doc.doc_id)}.html">{escape(r.doc.source_path)}</a>'
            + (f" <small>pages {r.doc.first_page}–{r.doc.last_page}</small>" if r.doc.form_index > 1 else "")
            + f"</td><td>{escape(r.doc.message)}</td></tr>"
            for r in skipped
        ]
        parts.append("</table></details>")
    if fine:
        parts.append(f"<details><summary>OK ({len(fine)})</summary><ul>")
        parts += [
            f'<li><a href="{escape(r.doc.doc_id)}.html">{escape(_doc_title(r.doc))}</a> '
            f"<small>{r.doc.n_warnings} warnings</small></li>"
            for r in fine
        ]
        parts.append("</ul></details>")
    if stale:
        parts.append(f"<h2>Decisions not applied ({len(stale)})</h2><p>Kept in reviews.csv, but their document "
                     "changed (a new file content) or is no longer in the folder:</p><ul>")
        parts += [f"<li>{escape(line)}</li>" for line in stale]
        parts.append("</ul>")
    return _page("perfscan review", "\n".join(parts))
