"""Review pages: the right cells are flagged, every text is escaped, and the pages work in a real
headless Chromium from file:// — crops decoded, page image shown, nothing logged as an error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from pipeline.checks.assess import assess
from pipeline.checks.cells import Ref
from pipeline.forms.catalog import default_catalogue
from pipeline.outputs.flagged import collect
from pipeline.outputs.review import write_review
from pipeline.records import Correction, Document, Provenance
from tests.test_rules import set_row, unit_doc

D = Decimal
THRESHOLD = 0.90
PAGE_W, PAGE_H = 1200, 1700
ROW_H = 40


def box(seq: int, col: int) -> list[int]:
    """Where row `seq`, column `col` sits on the synthetic page (x0, y0, x1, y1)."""
    y0 = 100 + (seq - 1) * ROW_H
    return [100 + col * 120, y0, 100 + (col + 1) * 120, y0 + ROW_H]


def scanned_doc(out: Path) -> Document:
    """Seed 000 as if scanned: a page image under out/pages, every cell with its box; row 12's
    得分 read uncertainly as 8.00 (arithmetic brings back 2.00), a `<script>` in a reason."""
    image = Image.new("RGB", (PAGE_W, PAGE_H), "white")
    draw = ImageDraw.Draw(image)
    doc = unit_doc()
    rows = []
    for ind in doc.indicators:
        prov = {}
        for col, name in enumerate(("level3", "target", "actual", "max_score", "score")):
            b = box(ind.seq, col)
            draw.rectangle(b, outline="black")
            text = str(getattr(ind, name) or "")
            draw.text((b[0] + 4, b[1] + 12), text.encode("ascii", "replace").decode(), fill="black")
            prov[name] = Provenance(page=1, bbox=b, raw=text, confidence=0.99, engine="test")
        rows.append(ind.model_copy(update={"provenance": prov}))
    doc = doc.model_copy(update={"indicators": rows, "doc_id": "00aa11bb22cc33dd", "page_images": {1: "pages/00aa11bb22cc33dd-p1.jpg"}})
    (out / "pages").mkdir(parents=True, exist_ok=True)
    image.save(out / "pages" / "00aa11bb22cc33dd-p1.jpg", quality=80)
    slip = Provenance(page=1, bbox=box(12, 4), raw="8. 00", confidence=0.41, engine="test")
    doc = set_row(doc, 12, score=D("8.00"), provenance={**doc.indicators[11].provenance, "score": slip})
    doc = set_row(doc, 20, deviation_reason='<script>alert("x")</script>')
    return assess(doc, default_catalogue(), THRESHOLD)


def test_flagged_cells_findings_and_corrections(tmp_path):
    doc = scanned_doc(tmp_path)
    review = collect(doc, THRESHOLD)
    refs = {c.ref for c in review.cells}
    assert Ref("indicator", 12, "score") in refs                   # repaired by arithmetic (and uncertain)
    assert Ref("indicator", 20, "deviation_reason") in refs        # I9 names it
    (repaired,) = [c for c in review.cells if c.ref == Ref("indicator", 12, "score")]
    assert repaired.value == "2.00" and repaired.prov.raw == "8. 00"
    assert any(c.kind == "arithmetic" and c.corrected == "2.00" for c in repaired.corrections)
    # the repaired cell (not its whole row), the 三级 S1 names, the reason I9 names, and the 指标值
    # cells the I11/I12 warnings name: nothing else of row 12
    warned = {f.seq for f in doc.findings if f.rule_id in ("I11", "I12")}
    assert refs == ({Ref("indicator", 12, n) for n in ("level3", "score")}
                    | {Ref("indicator", 20, "deviation_reason")} | {Ref("indicator", s, "target") for s in warned})
    assert review.document_findings == []  # every finding here names its cell


def test_pages_are_written_and_escaped(tmp_path):
    doc = scanned_doc(tmp_path)
    text_doc = unit_doc().model_copy(update={"doc_id": "ffee000011112222"})
    bad = set_row(unit_doc(), 8, score=D("9")).model_copy(update={"doc_id": "0123456789abcdef"})
    bad = assess(bad, default_catalogue(), THRESHOLD)
    write_review(tmp_path, [doc, assess(text_doc, default_catalogue(), THRESHOLD), bad])
    review = tmp_path / "review"
    assert sorted(p.name for p in review.iterdir()) == [
        "00aa11bb22cc33dd-p1.html", "00aa11bb22cc33dd.html", "0123456789abcdef.html", "ffee000011112222.html",
        "index.html"]
    page = (review / "00aa11bb22cc33dd.html").read_text("utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    crops = len([c for c in collect(doc, THRESHOLD).cells if c.prov and c.prov.bbox])
    assert crops == 10 and page.count("data:image/jpeg;base64,") == crops
    assert "8. 00" in page and "2.00" in page and "arithmetic" in page
    index = (review / "index.html").read_text("utf-8")
    assert "00aa11bb22cc33dd.html" in index and "0123456789abcdef.html" in index
    assert index.index("0123456789abcdef") < index.index("OK (1)")   # needs review above, ok below
    text_page = (review / "ffee000011112222.html").read_text("utf-8")
    assert "No page images" in text_page and "data:image" not in text_page
    view = (review / "00aa11bb22cc33dd-p1.html").read_text("utf-8")
    assert 'src="../pages/00aa11bb22cc33dd-p1.jpg"' in view and view.count('class="box"') == crops
    assert not list(review.glob(".*.tmp"))


def test_missing_page_image_shows_values_without_crops(tmp_path):
    doc = scanned_doc(tmp_path)
    (tmp_path / "pages" / "00aa11bb22cc33dd-p1.jpg").unlink()
    write_review(tmp_path, [doc])
    page = (tmp_path / "review" / "00aa11bb22cc33dd.html").read_text("utf-8")
    assert "data:image" not in page and "2.00" in page
    assert not (tmp_path / "review" / "00aa11bb22cc33dd-p1.html").exists()


def test_cross_and_correction_fields_resolve_to_cells(tmp_path):
    doc = unit_doc().model_copy(update={"corrections": [
        Correction(page=1, field="funding.基本支出.budget", raw="16, 712, 410. 00", corrected="16712410.00",
                   kind="spaced_digits"),
        Correction(page=1, field="funding.基本支出.budget", raw="16712470.00", corrected="16712410.00",
                   kind="arithmetic")]})
    (cell,) = collect(doc, THRESHOLD).cells
    assert cell.ref == Ref("funding", "基本支出", "budget") and len(cell.corrections) == 2


# --- real browser ---------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.__errors.push(t && t !== window ? 'failed to load ' + (t.currentSrc || t.src || t.href) : String(e.message));
}, true);
['error', 'warn'].forEach(function (level) {
  var original = console[level];
  console[level] = function () { window.__errors.push(level + ': ' + Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
});
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (i) {
    return {src: i.src.slice(0, 40), w: i.naturalWidth, h: i.naturalHeight, complete: i.complete};
  });
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({errors: window.__errors, images: images, title: document.title});
  document.body.appendChild(out);
});
</script>"""


def load_in_chromium(page: Path, profile: Path) -> dict:
    """Open a copy of `page` with a probe script in headless Chromium and read what it recorded."""
    html = page.read_text("utf-8")
    probed = page.with_name(f"probe-{page.name}")
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), "utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
           f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()]
    env = {**os.environ, "HOME": str(profile)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, f"page did not finish loading; chromium said: {result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs Debian's chromium)")
def test_review_pages_in_headless_chromium(tmp_path):
    out = tmp_path / "out"
    write_review(out, [scanned_doc(out)])
    profile = tmp_path / "profile"
    profile.mkdir()
    page = load_in_chromium(out / "review" / "00aa11bb22cc33dd.html", profile)
    assert page["errors"] == []
    crops = [i for i in page["images"] if i["src"].startswith("data:image/jpeg")]
    assert len(crops) == 10 and all(i["w"] > 0 and i["h"] > 0 for i in crops), page["images"]
    view = load_in_chromium(out / "review" / "00aa11bb22cc33dd-p1.html", profile)
    assert view["errors"] == [] and [(i["w"], i["h"]) for i in view["images"]] == [(PAGE_W, PAGE_H)]


def test_a_born_digital_document_links_each_flagged_value_to_its_pdf_page(tmp_path):
    from tests.batchfiles import fixture

    doc = scanned_doc(tmp_path / "scan").model_copy(update={
        "doc_id": "0123abcd0123abcd", "page_images": {}, "source_path": str(fixture("u000_digital"))})
    write_review(tmp_path / "out", [doc])
    page = (tmp_path / "out" / "review" / "0123abcd0123abcd.html").read_text("utf-8")
    assert f'{fixture("u000_digital").as_uri()}#page=1">PDF page 1</a>' in page
    assert "no image" not in page
    # and a source that is no PDF any more (moved, a link that loops) gets no link, and no failure
    loop = tmp_path / "loop.pdf"
    loop.symlink_to(loop)
    write_review(tmp_path / "out", [doc.model_copy(update={"source_path": str(loop)})])
    assert "PDF page" not in (tmp_path / "out" / "review" / "0123abcd0123abcd.html").read_text("utf-8")
