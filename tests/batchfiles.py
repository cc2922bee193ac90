"""Inputs for the batch tests, made in temp folders: small text forms, hand-built and altered PDFs,
and process functions that misbehave on purpose (hang, eat memory, crash) for the isolation tests.

`paged` stands in for a scanned document: it streams page images the way `process_file` does.
The misbehaving functions live here, at module level, because a worker process receives the
process function by name (`tests.batchfiles:hostile`) and imports it; the production code has no
test hooks. Everything written here goes under the folder a test gives.
"""

from __future__ import annotations

import csv
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from pipeline.config import Config
from pipeline.document import ProcessedDocument, import_text

REPO = Path(__file__).resolve().parent.parent
FIXTURE_DOCS = REPO / "fixtures" / "docs"
BORN_DIGITAL = ("u000_digital", "p001_digital")


def fixture(name: str) -> Path:
    path = FIXTURE_DOCS / f"{name}.pdf"
    assert path.exists(), f"fixture {path.name} is missing: regenerate with fixtures/generate.py"
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_bytes().decode("utf-8-sig").splitlines()))


def output_files(out: Path) -> dict[str, bytes]:
    """Everything a run leaves in its output folder except its own bookkeeping (state, lock)."""
    skip = {"state.sqlite", "state.sqlite-wal", "state.sqlite-shm", ".perfscan.lock"}
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name not in skip)
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def record_count(out: Path) -> int:
    """Documents committed to `out` so far: its records (a missing folder counts none)."""
    return len(list((out / "records").glob("*.json")))


def run_cli(*args: str | Path, timeout: float = 300, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`python -m pipeline.cli ARGS` in a real process (argument list, no shell)."""
    return subprocess.run([*prefix, sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, timeout=timeout)


# --- text forms (import-text): a few ms each, so a hundred cost nothing -----------------------------


INDICATORS_PER_FORM = 10


def text_form(unit: str, budget: int = 1000) -> str:
    """A small, consistent 部门整体 form as a tab-separated extraction (10 indicator rows, weights of
    the standard template); `unit` and `budget` make each one distinct."""
    executed = budget - 10
    rate = f"{executed / budget * 100:.2f}"
    inputs = [("预算编审管理", "7.50"), ("预算执行管理", "10.20"), ("预算绩效管理", "4.50"), ("资产管理", "0.90"),
              ("预算透明度", "3.00"), ("内部控制管理", "2.40"), ("预算信息化", "1.50")]
    lines = [
        "《部门（单位）整体支出绩效自评表》",
        "（2024年度）",
        f"单位名称\t\t{unit}",
        "整体支出规模（元）\t\t\t全年预算数\t\t全年执行数\t\t执行率(%)",
        f"\t\t资金来源：（1）财政拨款\t{budget}.00\t\t{executed}.00\t\t{rate}",
        "\t\t（2）其他资金\t0.00\t\t0.00\t\t0.00",
        f"\t\t资金结构：（1）基本支出\t{budget}.00\t\t{executed}.00\t\t{rate}",
        "\t\t（2）项目支出\t0.00\t\t0.00\t\t0.00",
        "一级指标\t权重\t二级指标\t三级指标\t年度指标值\t全年完成值\t分值\t得分\t偏差及原因分析",
    ]
    for i, (name, score) in enumerate(inputs):
        lines.append(("投入管理指标\t30" if i == 0 else "\t") + f"\t{name}\t\t\t\t{score}\t{score}\t")
    lines += [
        "产出指标\t25\t数量指标\t培训完成率\t=100.00(%)\t100.00(%)\t25.00\t25.00\t",
        "效益指标\t35\t社会效益指标\t服务群众水平提升\t提升\t达成指标\t35.00\t35.00\t",
        "满意度指标\t10\t服务对象满意度指标\t群众满意度\t≥90.00(%)\t95.00(%)\t10.00\t10.00\t",
        "总分\t\t\t\t\t\t100.00\t100.00\t",
        "",
    ]
    return "\n".join(lines)


def write_text_forms(folder: Path, n: int, prefix: str = "form") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{prefix}-{i:03d}.txt"
        path.write_text(text_form(f"测试单位{i:03d}号", budget=1000 + i), encoding="utf-8")
        paths.append(path)
    return paths


# --- PDFs -------------------------------------------------------------------------------------------


def variant(source: Path, dest: Path, tag: str) -> Path:
    """A copy of a good PDF with a comment appended after %%EOF: still valid, different sha256."""
    dest.write_bytes(source.read_bytes() + f"\n% variant {tag}\n".encode())
    return dest


def build_pdf(objects: list[bytes], root: int = 1, header: bytes = b"%PDF-1.7\n") -> bytes:
    """A PDF from object bodies (object i+1 = objects[i]) with a correct classic xref table."""
    out = bytearray(header + b"%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def page_pdf(media_box: str = "0 0 595 842", content: bytes = b"", resources: bytes = b"<< >>",
             extra_objects: tuple[bytes, ...] = (), catalog_extra: bytes = b"") -> bytes:
    """One page: catalog 1, pages 2, page 3, contents 4, then `extra_objects` from 5 on."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [" + media_box.encode() + b"] /Contents 4 0 R /Resources "
        + resources + b" >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *extra_objects,
    ])


def text_page_pdf(text: str = "Meeting minutes. Nothing to see here, this is not a form.",
                  catalog_extra: bytes = b"", extra: tuple[bytes, ...] = ()) -> bytes:
    """A page of plain text in Helvetica (font is object 5, `extra` objects from 6 on)."""
    content = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    return page_pdf(content=content, resources=b"<< /Font << /F1 5 0 R >> >>", extra_objects=(font, *extra),
                    catalog_extra=catalog_extra)


def zero_page_pdf() -> bytes:
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def dpi_2400_pdf() -> bytes:
    """An A4 page that is one 1-bit image at 2400 dpi (19843 × 28063 px, 557 Mpx), about 70 KB."""
    width, height = 19843, 28063
    row = (width + 7) // 8
    data = zlib.compress(b"\xff" * (row * height), 9)
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 1 /Filter /FlateDecode /Length %d >>\nstream\n" % (width, height, len(data))
             + data + b"\nendstream")
    content = b"q 595.2756 0 0 841.8898 0 0 cm /Im1 Do Q"
    return page_pdf("0 0 595.2756 841.8898", content, b"<< /XObject << /Im1 5 0 R >> >>", (image,))


def javascript_pdf() -> bytes:
    """A page with an OpenAction that runs JavaScript (which a reader must never execute)."""
    js = b"<< /S /JavaScript /JS (app.alert\\('pwned'\\); this.submitForm\\('http://127.0.0.1:9/'\\);) >>"
    return text_page_pdf(catalog_extra=b"/OpenAction 6 0 R", extra=(js,))


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}


def incremental_update(pdf: bytes, replace: dict[int, bytes], new: list[bytes] = ()) -> bytes:
    """Append new versions of objects (and new objects) as a PDF incremental update, the way an
    editor saves changes: the original bytes stay, a new xref section points at the new versions."""
    trailer = pdf[pdf.rindex(b"trailer"):]
    size = int(re.search(rb"/Size (\d+)", trailer).group(1))
    root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))
    prev = int(re.search(rb"startxref\s+(\d+)", trailer).group(1))
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    entries: dict[int, int] = {}
    for number, body in [*replace.items(), *((size + i, body) for i, body in enumerate(new))]:
        entries[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number in sorted(entries):
        out += b"%d 1\n%010d 00000 n \n" % (number, entries[number])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size + len(new), root, prev, xref)
    return bytes(out)


def rotated(pdf: bytes, degrees: int) -> bytes:
    """Every page turned by `degrees` (its /Rotate), as an incremental update."""
    pages = {n: body for n, body in _objects(pdf).items() if re.search(rb"/Type\s*/Page\b(?!s)", body)}
    changed = {}
    for number, body in pages.items():
        body = re.sub(rb"/Rotate \d+", b"", body)
        changed[number] = body.replace(b"<<", b"<< /Rotate %d" % degrees, 1)
    return incremental_update(pdf, changed)


def with_javascript(pdf: bytes) -> bytes:
    """A good document that also carries an OpenAction JavaScript, as an incremental update."""
    catalogs = {n: body for n, body in _objects(pdf).items() if b"/Type /Catalog" in body}
    (number, body), = catalogs.items()
    size = int(re.search(rb"/Size (\d+)", pdf[pdf.rindex(b"trailer"):]).group(1))
    js = b"<< /S /JavaScript /JS (app.alert\\('pwned'\\);) >>"
    return incremental_update(pdf, {number: body.replace(b"<<", b"<< /OpenAction %d 0 R" % size, 1)}, [js])


def corrupt_xref(pdf: bytes) -> bytes:
    """Every xref offset wrong (a badly patched file): readers must rebuild the table by scanning."""
    start = pdf.rindex(b"xref\n")
    table = re.sub(rb"\d{10} 00000 n", lambda m: b"%010d 00000 n" % 7, pdf[start:])
    return pdf[:start] + table


def encrypted_pdf(user_password: str, owner_password: str = "owner") -> bytes:
    """A one-page PDF encrypted by reportlab (RC4 128); empty `user_password` opens without one."""
    import io

    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    enc = pdfencrypt.StandardEncryption(user_password, owner_password, canPrint=0, canCopy=0, strength=128)
    canvas = Canvas(buf, encrypt=enc, invariant=1)
    canvas.drawString(72, 720, "Encrypted test page, not a form.")
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def blank_scan_pdf() -> bytes:
    """An image-only PDF whose one page is a blank (white) 200-dpi scan."""
    import io

    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, invariant=1)
    canvas.drawImage(ImageReader(Image.new("L", (1654, 2339), 255)), 0, 0, *A4)
    canvas.showPage()
    canvas.save()
    return buf.getvalue()


def photo_of_table(source: Path) -> bytes:
    """A phone photo of the top of a printed form: page 1 rendered, cropped, warped in perspective on a
    grey desk, JPEG."""
    import cv2
    import numpy as np
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(source)
    try:
        page = np.asarray(pdf[0].render(scale=110 / 72).to_pil().convert("RGB"))[:, :, ::-1]
    finally:
        pdf.close()
    page = np.ascontiguousarray(page[: page.shape[0] * 2 // 5])  # the top of the form: few cells to read
    h, w = page.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0.08 * w, 0.05 * h], [0.93 * w, 0.0], [w, h], [0.0, 0.96 * h]])
    warped = cv2.warpPerspective(page, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=(90, 95, 100))
    ok, jpeg = cv2.imencode(".jpg", warped, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return jpeg.tobytes()


def scan_pages(source: Path) -> list:
    """The page images of a scanned fixture (one embedded image a page), as PIL images with the
    very pixels perfscan takes out of the PDF, so a lossless copy of them reads exactly the same."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(source)
    try:
        images = []
        for page in pdf:
            (image,) = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
            images.append(image.get_bitmap(render=False).to_pil().convert("RGB"))
        return images
    finally:
        pdf.close()


def image_bytes(image, fmt: str, **options: object) -> bytes:
    """`image` saved as `fmt` (PIL), with `options` (dpi, save_all, append_images, ...)."""
    import io

    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def bomb_png() -> bytes:
    """A 40000 × 40000 PNG (1.6 Gpx) that is only a few hundred KB on disk."""
    import struct

    width = height = 40000

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def input_snapshot(paths: list[Path]) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every input, to show a run modified none of them."""
    out = {}
    for path in paths:
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            out[os.fsdecode(path)] = (path.read_bytes(), st.st_mtime_ns)
    return out


def drop_file_access_prefix() -> tuple[str, ...] | None:
    """A command prefix under which a chmod 000 file is really unreadable, or None if none works.

    Not root: nothing needed. Root (CI containers): root ignores file modes through the
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH capabilities; `setpriv` drops them from the bounding
    set, so the child runs as root but obeys file modes like anyone else.
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else None


# --- process functions that misbehave on purpose (by file-name prefix) -------------------------------


def hostile(path: Path, cfg: Config) -> ProcessedDocument:
    """import-text, except for files named to hang, eat memory, crash or exit (what the name says)."""
    name = path.name
    if name.startswith("hang-"):
        time.sleep(3600)
    elif name.startswith("hog-"):
        hoard = []
        while True:
            hoard.append(b"\x01" * (64 << 20))  # touched pages: resident, not just reserved
    elif name.startswith("segv-"):
        ctypes.string_at(0)
    elif name.startswith("exit-"):
        print("about to leave without a word", file=sys.stderr, flush=True)
        os._exit(7)
    elif name.startswith("memerr-"):
        raise MemoryError
    elif name.startswith("bug-"):
        raise ZeroDivisionError("a bug in a stage")
    return import_text(path, cfg)


def whoami(path: Path, cfg: Config) -> ProcessedDocument:
    """import-text, with the worker's pid and thread settings in the document's message."""
    result = import_text(path, cfg)
    facts = {"pid": os.getpid(), "ocr_threads": cfg.ocr.threads, "omp": os.environ.get("OMP_NUM_THREADS")}
    return ProcessedDocument([result.document.model_copy(update={"message": json.dumps(facts)})])


PAGES = 3  # page images `paged` makes for each document


def page_jpeg(page: int) -> bytes:
    """The small JPEG `paged` sends for `page`: the same bytes every time, different per page."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (40, 30), 40 * page % 256).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def paged(path: Path, cfg: Config, page_images: Callable[[int, bytes], None],
          page_count: Callable[[int], None] | None = None) -> ProcessedDocument:
    """import-text as if the file were a 3-page scan: it says it has 3 pages (`page_count`), each
    page's image goes out through `page_images` as it is made, and the record names them. After
    its pages, a file named `die-` kills its own worker and `hang-` hangs; `endless-` sends pages
    without end (a quarter second apart), `hog-` does too, faster, eating 64 MB a page; `slow-`
    takes a second a page."""
    name = path.name
    endless = name.startswith(("endless-", "hog-"))
    pause = {"slow-": 1.0, "endless-": 0.25, "hog-": 0.1}.get(name[: name.find("-") + 1], 0.0)
    hoard: list[bytes] = []
    if page_count is not None and not endless:
        page_count(PAGES)
    page = 0
    while page < PAGES or endless:
        page += 1
        page_images(page, page_jpeg(page))
        if name.startswith("hog-"):
            hoard.append(b"\x01" * (64 << 20))  # touched pages: resident, not just reserved
        time.sleep(pause)
    if name.startswith("die-"):
        os.kill(os.getpid(), signal.SIGKILL)
    elif name.startswith("hang-"):
        time.sleep(3600)
    result = import_text(path, cfg)
    doc = result.document
    names = {p: f"pages/{doc.doc_id}-p{p}.jpg" for p in range(1, PAGES + 1)}
    return ProcessedDocument([doc.model_copy(update={"page_images": names})])


def private_mount_prefix(scratch: Path) -> tuple[str, ...] | None:
    """A command prefix under which a test may mount (a small tmpfs that fills up, a read-only bind)
    in a private mount namespace that vanishes with the command, leaving the machine's mounts alone;
    None where neither root nor a user namespace allows it. `scratch` is an empty folder to probe on."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for prefix in ((unshare, "--mount", "--propagation", "private"),
                   (unshare, "--user", "--map-root-user", "--mount", "--propagation", "private")):
        probe = subprocess.run([*prefix, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(scratch)],
                               capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


def copy_protected(name: str) -> bytes:
    """A born-digital fixture drawn again into a PDF with an owner password that forbids copying its
    text (no user password: it opens in any viewer). Same pages, same text layer, RC4 128."""
    import io

    import numpy as np
    from reportlab.lib import pdfencrypt
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from fixtures.catalogue import FIXTURES
    from fixtures.fonts import register_fonts
    from fixtures.layout import lay_out
    from fixtures.render import draw_form_pages

    (fx,) = [f for f in FIXTURES if f.name == name]
    layout = lay_out(fx.doc, fx.style)
    register_fonts()
    buf = io.BytesIO()
    no_copy = pdfencrypt.StandardEncryption("", "owner", canPrint=1, canCopy=0, canModify=0, strength=128)
    canvas = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1, encrypt=no_copy)
    draw_form_pages(canvas, layout, fx.style, "solid", np.random.default_rng(0))
    canvas.save()
    return buf.getvalue()


def offline_prefix() -> tuple[str, ...] | None:
    """A command prefix that runs the command without a network (`unshare --net`: a namespace with only
    a loopback that is down), or None where that needs privileges this process lacks."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = (unshare, "--net", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    return prefix if probe.returncode == 0 else None
