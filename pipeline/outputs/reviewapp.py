"""`perfscan review OUT`: a local web app in which a person approves or corrects each flagged value.

    records (as read) + reviews.csv ─► one page per document: each flagged value with its crop, its
    row's band of the page, its row's cells, the findings on it ─► a key press ─► reviews.csv

The app only ever writes reviews.csv (`reviews.record_decision`: checked, then the file rewritten
atomically); the records, CSVs and workbook take the decisions at the next `perfscan run` or
`perfscan rebuild OUT`. It shows each record as read (`reviews.take_back`), so a value is shown as
the document had it whatever was decided before, with the decision beside it; deciding again
replaces the earlier decision.

Standard library only (`http.server`), bound to 127.0.0.1, every asset inline or served from the
output folder: it runs offline on the machine that holds the folder. A token in each page guards
the one state-changing request against other web pages posting to localhost.

Keys on a document page: j / ↓ next value, k / ↑ previous, a or Enter approve, c or e correct
(type, then Enter; Esc leaves the field), n next document.
"""

from __future__ import annotations

import getpass
import io
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from PIL import Image

from ..checks.assess import check
from ..config import Config
from ..forms.catalog import Catalogue, load_catalogue
from ..records import Document
from .export import cell as csv_text
from .flagged import FlaggedCell, collect, crop_box
from .folder import OutputFolder
from .review import STYLE, row_context
from .reviews import BadDecision, Decision, current_text, read_decisions, record_decision, take_back

log = logging.getLogger("perfscan")

STRIP_PAD = 24  # pixels of page above and below a value's row band
STRIP_MAX_WIDTH = 1100


@dataclass
class Folder:
    """The output folder as the app shows it, read afresh on each request (a run may change it)."""

    out: OutputFolder
    review_confidence: float
    forms: Catalogue

    def documents(self) -> list[Document]:
        docs, _ = self.out.load_records()
        return [d for d in docs if d.status not in ("failed", "skipped")]

    def document(self, doc_id: str) -> Document | None:
        """The record as settled by the last run or rebuild (decisions applied)."""
        return self.out.read_record(doc_id)

    def as_read(self, doc: Document) -> Document:
        """The record before any decision: values as read, and the findings they gave."""
        if not doc.reviews:
            return doc
        read = take_back(doc)
        cross = [f for f in doc.findings if f.cross]
        checked = check(read.model_copy(update={"findings": []}), self.forms, self.review_confidence)
        return checked.model_copy(update={"findings": [*checked.findings, *cross]})

    def cells(self, doc: Document) -> list[FlaggedCell]:
        """What a person decides on: the values flagged as read, then any the decisions brought up
        (a corrected 得分 that leaves the 总分 unmatched flags the 总分), numbered in that order."""
        cells = collect(self.as_read(doc), self.review_confidence).cells
        seen = {c.ref for c in cells}
        cells += [c for c in collect(doc, self.review_confidence).cells if c.ref not in seen]
        for number, cell in enumerate(cells, 1):
            cell.number = number
        return cells

    def decisions(self) -> dict[tuple, Decision]:
        decisions, _ = read_decisions(self.out.root)
        return {d.key: d for d in decisions}


def serve(out_dir: Path, cfg: Config, port: int = 8765, reviewer: str | None = None,
          ready: Callable[[str, ThreadingHTTPServer], object] | None = None) -> None:
    """Serve the app on 127.0.0.1:`port` until interrupted. `ready`, if given, is called with the
    server's URL once it listens (tests pass a callback; the command line prints it)."""
    from ..errors import UsageError

    out = OutputFolder(out_dir)
    if not out.has_records:
        raise UsageError(f"{out_dir} is not a perfscan output folder (it has no records/)")
    folder = Folder(out, cfg.read.review_confidence, load_catalogue(cfg.rules.forms_path))
    app = App(folder, reviewer or _login(), secrets.token_urlsafe(16))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), app.handler())
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); try --port 0") from exc
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    log.info("perfscan review: %s — open it in a browser; Ctrl-C stops (decisions are in %s)", url,
             out.reviews_path, extra={"event": "review", "data": {"url": url}})
    if ready is not None:
        ready(url, server)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class App:
    def __init__(self, folder: Folder, reviewer: str, token: str):
        self.folder = folder
        self.reviewer = reviewer
        self.token = token

    def handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
                log.debug("review app: " + format, *args)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                app.get(self)

            def do_POST(self) -> None:  # noqa: N802
                app.post(self)

        return Handler

    # --- requests ------------------------------------------------------------------------------

    def get(self, req: BaseHTTPRequestHandler) -> None:
        path = urlsplit(req.path).path
        parts = [p for p in path.split("/") if p]
        if not parts:
            return _send(req, HTTPStatus.OK, self.index().encode("utf-8"), "text/html; charset=utf-8")
        if parts[0] == "doc" and len(parts) == 2 and (doc := self.folder.document(parts[1])):
            return _send(req, HTTPStatus.OK, self.document_page(doc).encode("utf-8"), "text/html; charset=utf-8")
        if parts[0] in ("crop", "strip") and len(parts) == 3 and (doc := self.folder.document(parts[1])):
            image = self.picture(doc, parts[2].removesuffix(".jpg"), strip=parts[0] == "strip")
            if image is not None:
                return _send(req, HTTPStatus.OK, image, "image/jpeg")
        if parts[0] == "source" and len(parts) == 2 and (doc := self.folder.document(parts[1])):
            source = Path(doc.source_path)
            if source.suffix.lower() == ".pdf" and source.is_file():
                return _send(req, HTTPStatus.OK, source.read_bytes(), "application/pdf")
        _send(req, HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

    def post(self, req: BaseHTTPRequestHandler) -> None:
        if urlsplit(req.path).path != "/decide":
            return _send(req, HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
        length = int(req.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(req.rfile.read(length).decode("utf-8"), keep_blank_values=True).items()}
        wants_json = "application/json" in (req.headers.get("Accept") or "")
        if form.get("token") != self.token:
            return _send(req, HTTPStatus.FORBIDDEN, b"stale page: reload it", "text/plain; charset=utf-8")
        doc = self.folder.document(form.get("doc_id", ""))
        try:
            if doc is None:
                raise BadDecision("no such document in this output folder")
            seq = int(form["seq"]) if form.get("seq") else None
            made = record_decision(self.folder.out.root, doc, seq, form.get("field", ""), form.get("value", ""),
                                   form.get("decision", ""), self.reviewer)
        except (BadDecision, ValueError) as exc:
            if wants_json:
                return _send(req, HTTPStatus.BAD_REQUEST, json.dumps({"error": str(exc)}).encode(), "application/json")
            return _send(req, HTTPStatus.BAD_REQUEST, str(exc).encode("utf-8"), "text/plain; charset=utf-8")
        log.info("%s %s%s: %s %r", made.doc_id, made.field, f" row {made.seq}" if made.seq is not None else "",
                 made.decision, made.value, extra={"event": "decision", "data": {
                     "doc_id": made.doc_id, "seq": made.seq, "field": made.field, "value": made.value,
                     "decision": made.decision, "reviewer": made.reviewer}})
        if wants_json:
            body = {"decision": made.decision, "value": made.value, "reviewer": made.reviewer, "time": made.time}
            return _send(req, HTTPStatus.OK, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json")
        req.send_response(HTTPStatus.SEE_OTHER)
        req.send_header("Location", f"/doc/{quote(made.doc_id)}")
        req.end_headers()

    # --- pictures ------------------------------------------------------------------------------

    def picture(self, doc: Document, number: str, strip: bool) -> bytes | None:
        """A flagged value's crop, or the band of its page across the whole row (`strip`)."""
        cell = next((c for c in self.folder.cells(doc) if str(c.number) == number), None)
        prov = cell.prov if cell else None
        rel = doc.page_images.get(prov.page) if prov and prov.page else None
        if rel is None:
            return None
        try:
            with Image.open(self.folder.out.root / rel) as img:
                img.load()
                box = crop_box(prov, img.size)
                if box is None:
                    return None
                if strip:
                    box = (0, max(0, box[1] - STRIP_PAD), img.size[0], min(img.size[1], box[3] + STRIP_PAD))
                picture = img.crop(box).convert("RGB")
        except (OSError, ValueError):
            return None
        picture.thumbnail((STRIP_MAX_WIDTH, 600))
        buf = io.BytesIO()
        picture.save(buf, format="JPEG", quality=85)
        return buf.getvalue()

    # --- pages ---------------------------------------------------------------------------------

    def index(self) -> str:
        decisions = self.folder.decisions()
        rows = []
        for doc in self.folder.documents():
            cells = self.folder.cells(doc)
            if not cells or (doc.status != "needs_review" and not any(_key(doc, c) in decisions for c in cells)):
                continue
            done = sum(_key(doc, c) in decisions for c in cells)
            rows.append((done == len(cells), doc, len(cells), done))
        rows.sort(key=lambda r: (r[0], r[1].source_path, r[1].doc_id))
        body = ["<h1>perfscan review</h1>",
                f"<p>{escape(str(self.folder.out.root))} · reviewer <b>{escape(self.reviewer or '(unnamed)')}</b> · "
                "decisions go to reviews.csv; <code>perfscan rebuild</code> (or the next run) applies them.</p>"]
        if not rows:
            body.append("<p>Nothing is flagged for review.</p>")
        else:
            body.append('<table id="documents"><tr><th>document</th><th>source</th><th>status</th>'
                        "<th>decided</th><th>why</th></tr>")
            for _complete, doc, total, done in rows:
                body.append(f'<tr><td><a href="/doc/{quote(doc.doc_id)}">{escape(_title(doc))}</a>'
                            f"<br><small>{escape(doc.doc_id)}</small></td><td>{escape(Path(doc.source_path).name)}</td>"
                            f"<td>{escape(doc.status)}</td><td>{done} of {total}</td><td>{escape(doc.message)}</td></tr>")
            body.append("</table>")
        return _html("perfscan review", "\n".join(body))

    def document_page(self, doc: Document) -> str:
        decisions = self.folder.decisions()
        cells = self.folder.cells(doc)
        following = self._next_document(doc)
        body = [
            '<p><a href="/">← all documents</a>'
            + (f' · <a id="next-doc" href="/doc/{quote(following)}">next document (n)</a>' if following else "")
            + "</p>",
            f"<h1>{escape(_title(doc))}</h1>",
            f"<p>{escape(doc.doc_id)} · {escape(doc.header.form_type)} · {escape(Path(doc.source_path).name)} · "
            f"status {escape(doc.status)}{' — ' + escape(doc.message) if doc.message else ''}</p>",
            '<p class="keys">keys: <kbd>j</kbd>/<kbd>↓</kbd> next · <kbd>k</kbd>/<kbd>↑</kbd> previous · '
            "<kbd>a</kbd> or <kbd>Enter</kbd> approve · <kbd>c</kbd> correct (type, <kbd>Enter</kbd>) · "
            '<kbd>n</kbd> next document</p><p id="status" role="status"></p>',
        ]
        loose = [f for f in doc.findings if not any(f in c.findings for c in cells)]
        if loose:
            body.append("<h2>Findings about the whole document</h2><ul>" + "".join(
                f'<li class="{escape(f.severity)}"><b>{escape(f.rule_id)}</b> {escape(f.message)}</li>'
                for f in loose) + "</ul>")
        if not cells:
            body.append("<p>Nothing flagged.</p>")
        read = self.folder.as_read(doc)
        for cell in cells:
            body.append(self._cell(read, cell, decisions.get(_key(doc, cell))))
        return _html(f"{_title(doc)} — review", "\n".join(body), script=SCRIPT)

    def _next_document(self, doc: Document) -> str:
        ids = [d.doc_id for d in self.folder.documents() if d.status == "needs_review"]
        later = [i for i in ids if i > doc.doc_id] or [i for i in ids if i != doc.doc_id]
        return later[0] if later else ""

    def _cell(self, doc: Document, cell: FlaggedCell, decided: Decision | None) -> str:
        prov = cell.prov
        seq = cell.ref.seq
        picture = ""
        if prov and prov.page in doc.page_images and prov.bbox:
            picture = (f'<img class="crop" src="/crop/{quote(doc.doc_id)}/{cell.number}.jpg" alt="scan of the value">'
                       f'<img class="strip" src="/strip/{quote(doc.doc_id)}/{cell.number}.jpg" alt="its row on the page">')
        elif prov and prov.page and Path(doc.source_path).suffix.lower() == ".pdf":
            picture = f'<a href="/source/{quote(doc.doc_id)}#page={prov.page}" target="_blank">PDF page {prov.page}</a>'
        why = "".join(f"<div><small>{escape(w)}</small></div>" for w in cell.why)
        why += "".join(f'<div class="{escape(f.severity)}"><b>{escape(f.rule_id)}</b> {escape(f.message)}</div>'
                       for f in cell.findings)
        state = ""
        if decided:
            state = f"{decided.decision}: {decided.value or '(empty)'} — {decided.reviewer}"
        value = decided.value if decided and decided.decision == "corrected" else current_text(doc, cell.ref)
        return f"""<section class="cell{' decided' if decided else ''}" id="cell-{cell.number}" tabindex="-1"
 data-doc="{escape(doc.doc_id, quote=True)}" data-seq="{csv_text(seq)}" data-field="{escape(cell.ref.name, quote=True)}">
<h3>{escape(cell.where)}{f' <small>page {prov.page}</small>' if prov and prov.page else ''}</h3>
<div class="evidence">{picture}</div>
<p>read <span class="raw">{escape(prov.raw if prov else '')}</span> → value <b class="raw value">{escape(cell.value) or '<small>(empty)</small>'}</b>
{f'<small>confidence {prov.confidence:.2f}</small>' if prov else ''}</p>
{why}{row_context(doc, cell.ref)}
<form method="post" action="/decide">
<input type="hidden" name="token" value="{self.token}"><input type="hidden" name="doc_id" value="{escape(doc.doc_id, quote=True)}">
<input type="hidden" name="seq" value="{csv_text(seq)}"><input type="hidden" name="field" value="{escape(cell.ref.name, quote=True)}">
<input class="answer" name="value" value="{escape(value, quote=True)}" aria-label="value" autocomplete="off">
<button name="decision" value="approved">approve (a)</button><button name="decision" value="corrected">correct (c)</button>
<span class="decision">{escape(state)}</span>
</form></section>"""


def _key(doc: Document, cell: FlaggedCell) -> tuple:
    return doc.doc_id, cell.ref.seq, cell.ref.name


def _title(doc: Document) -> str:
    return doc.header.project_name or doc.header.unit_name or Path(doc.source_path).name


def _send(req: BaseHTTPRequestHandler, status: HTTPStatus, body: bytes, kind: str) -> None:
    req.send_response(status)
    req.send_header("Content-Type", kind)
    req.send_header("Content-Length", str(len(body)))
    req.send_header("Cache-Control", "no-store")
    req.end_headers()
    req.wfile.write(body)


APP_STYLE = STYLE + """
.cell{border:1px solid #ccc;border-radius:4px;padding:.4em .8em;margin:.6em 0}
.cell.current{border:2px solid #1a56db;background:#f5f8ff}
.cell.decided{opacity:.75}.cell.decided .decision{color:#0a6b2d;font-weight:bold}
.crop{max-width:420px;border:1px solid #999;display:block}.strip{max-width:100%;border:1px solid #ddd;margin-top:.3em}
.answer{font-size:110%;min-width:16em}kbd{border:1px solid #aaa;border-radius:3px;padding:0 .3em}
"""

SCRIPT = """
(function(){
const cells=[...document.querySelectorAll('section.cell')];
let at=Math.max(0,cells.findIndex(c=>!c.classList.contains('decided')));
const status=document.getElementById('status');
function show(i){if(!cells.length)return;at=Math.max(0,Math.min(cells.length-1,i));
 cells.forEach(c=>c.classList.remove('current'));cells[at].classList.add('current');
 cells[at].scrollIntoView({block:'center'});cells[at].focus({preventScroll:true});}
async function decide(cell,decision){
 const form=cell.querySelector('form');const data=new URLSearchParams(new FormData(form));
 data.set('decision',decision);
 const r=await fetch('/decide',{method:'POST',body:data,headers:{'Accept':'application/json'}});
 const answer=await r.json();
 if(!r.ok){status.textContent=answer.error;cell.querySelector('.answer').focus();return;}
 cell.classList.add('decided');
 cell.querySelector('.decision').textContent=answer.decision+': '+(answer.value||'(empty)')+' — '+answer.reviewer;
 status.textContent='saved: '+answer.decision;
 const next=cells.findIndex((c,i)=>i>at&&!c.classList.contains('decided'));
 show(next<0?at+1:next);}
cells.forEach((cell,i)=>{
 cell.querySelector('form').addEventListener('submit',e=>{e.preventDefault();
  const d=e.submitter&&e.submitter.value||'corrected';at=i;decide(cell,d);});
 cell.addEventListener('click',()=>{at=i;cells.forEach(c=>c.classList.remove('current'));cell.classList.add('current');});
 const input=cell.querySelector('.answer');
 input.addEventListener('keydown',e=>{
  if(e.key==='Enter'){e.preventDefault();at=i;decide(cell,'corrected');}
  else if(e.key==='Escape'){e.preventDefault();input.blur();cell.focus();}});});
document.addEventListener('keydown',e=>{
 if(e.target.tagName==='INPUT'||e.altKey||e.ctrlKey||e.metaKey)return;
 const cell=cells[at];
 if(e.key==='j'||e.key==='ArrowDown'){e.preventDefault();show(at+1);}
 else if(e.key==='k'||e.key==='ArrowUp'){e.preventDefault();show(at-1);}
 else if((e.key==='a'||e.key==='Enter')&&cell){e.preventDefault();decide(cell,'approved');}
 else if((e.key==='c'||e.key==='e')&&cell){e.preventDefault();const input=cell.querySelector('.answer');
  input.focus();input.select();}
 else if(e.key==='n'){const next=document.getElementById('next-doc');if(next)location.href=next.href;}});
show(at);
})();
"""


def _html(title: str, body: str, script: str = "") -> str:
    return ('<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{APP_STYLE}</style></head>\n<body>\n{body}\n"
            + (f"<script>{script}</script>" if script else "") + "</body></html>\n")
