"""Opening inputs: page kinds, native-resolution scans, lazy page images, refusals with reasons."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from pipeline.batch.worker import _heap_trimmer
from pipeline.config import ImagingConfig
from pipeline.errors import InputTooLarge, UnreadableInput
from pipeline.ingest.imaging import open_document
from tests.benchmark.corpus import manifest
from tests.benchmark.longdoc import build_long_pdf

UMING = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
CLEAN_TEXT = ["项目支出绩效自评表", "年初预算数 全年预算数 全年执行数 执行率", "社区党校教学培训活动完成率 =100.00(%)"]


def _font() -> str:
    if "UMing" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("UMing", str(UMING), subfontIndex=0))
    return "UMing"


def _text_pdf(path: Path, lines: list[str], render_mode: int = 0, image: Image.Image | None = None) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    if image is not None and render_mode == 3:
        c.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
    text = c.beginText(60, 760)
    text.setFont(_font(), 11)
    text.setTextRenderMode(render_mode)
    for line in lines * 3:
        text.textLine(line)
    c.drawText(text)
    c.rect(50, 500, 400, 200)
    c.showPage()
    c.save()
    return path


def _scan_image(width: int = 1654, height: int = 2339) -> Image.Image:
    rng = np.random.default_rng(0)
    pixels = np.full((height, width, 3), 250, np.uint8)
    pixels[200:204, 100:1500] = 0
    pixels[300:900, 700:703] = 0
    pixels += rng.integers(0, 4, pixels.shape, dtype=np.uint8)
    return Image.fromarray(pixels)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_text_layer_page_is_text(tmp_path):
    pdf = _text_pdf(tmp_path / "digital.pdf", CLEAN_TEXT)
    with open_document(pdf, ImagingConfig()) as doc:
        assert doc.n_pages == 1
        info = doc.pages[0]
        assert info.kind == "text", info.reason
        assert not info.native_image
        page = doc.page_image(1)
        assert page.dpi == 200
        assert page.image.shape == (round(A4[1] * 200 / 72), round(A4[0] * 200 / 72), 3)


def test_single_image_page_is_taken_at_native_resolution(tmp_path):
    image = _scan_image()
    pdf = tmp_path / "scan.pdf"
    image.save(pdf, format="PDF", resolution=200.0)
    before = _sha(pdf)
    with open_document(pdf, ImagingConfig(dpi=300)) as doc:
        info = doc.pages[0]
        assert info.kind == "scan" and info.native_image
        page = doc.page_image(1)
    assert page.image.shape == (2339, 1654, 3)  # the scanner's pixels, not a 300-dpi render
    assert page.dpi == pytest.approx(200, abs=1)
    assert _sha(pdf) == before


def test_very_high_resolution_scan_is_resampled(tmp_path):
    image = _scan_image(1240, 1754)  # A4 at 150 dpi, declared below as 600 dpi on a smaller page
    pdf = tmp_path / "scan600.pdf"
    image.save(pdf, format="PDF", resolution=600.0)
    with open_document(pdf, ImagingConfig(dpi=200, max_native_dpi=400)) as doc:
        page = doc.page_image(1)
    assert page.dpi == 200
    assert page.image.shape[1] == pytest.approx(1240 / 3, abs=2)


def test_invisible_text_over_image_is_an_untrusted_ocr_layer(tmp_path):
    pdf = _text_pdf(tmp_path / "ocrlayer.pdf", CLEAN_TEXT, render_mode=3, image=_scan_image())
    with open_document(pdf, ImagingConfig()) as doc:
        info = doc.pages[0]
    assert info.kind == "untrusted_text"
    assert "invisible" in info.reason
    assert info.hidden_text_share == 1.0


@pytest.mark.parametrize(
    ("lines", "why"),
    [
        (["項目支出績效自評表 其中:當年財政撥款 分數", "項目名稱 主管部門 實施單位 財政"], "traditional"),
        (["年度资金总额 459. 80 823. 00 823.00", "执行率 100. 00% 0. 5 55327. 72"], "spaces"),
        (["ŨŨ³³ <u> ÆÐØ ¤¤¤ ŨŨ ³³ ÆÐ", "ØÞßþ ŨŨ ³³ ¤¤ ÆÐØ"], "unexpected"),
    ],
)
def test_bad_ocr_text_layer_is_untrusted(tmp_path, lines, why):
    pdf = _text_pdf(tmp_path / "bad.pdf", lines)
    with open_document(pdf, ImagingConfig()) as doc:
        info = doc.pages[0]
    assert info.kind == "untrusted_text"
    assert why in info.reason


def test_multipage_tiff_pages_are_read_one_at_a_time(tmp_path):
    frames = [Image.new("RGB", (1654, 2339), (255, 255, 255)) for _ in range(3)]
    for i, frame in enumerate(frames):
        frame.paste((0, 0, 0), (100 * (i + 1), 100, 100 * (i + 1) + 50, 150))
    tif = tmp_path / "pages.tif"
    frames[0].save(tif, save_all=True, append_images=frames[1:], dpi=(200, 200), compression="tiff_lzw")
    with open_document(tif, ImagingConfig()) as doc:
        assert doc.n_pages == 3
        assert [p.kind for p in doc.pages] == ["scan"] * 3
        second = doc.page_image(2)
    assert second.dpi == 200
    assert second.image[120, 220].tolist() == [0, 0, 0] and second.image[120, 120].tolist() == [255, 255, 255]


def test_image_without_plausible_dpi_is_assumed_a4(tmp_path):
    png = tmp_path / "photo.png"
    Image.new("RGB", (2480, 3508), "white").save(png, dpi=(72, 72))  # 300-dpi A4 tagged 72 dpi
    with open_document(png, ImagingConfig()) as doc:
        page = doc.page_image(1)
    assert page.dpi == pytest.approx(300, abs=1)


def test_decompression_bomb_is_refused(tmp_path):
    png = tmp_path / "big.png"
    Image.new("1", (4000, 4000)).save(png)
    with pytest.raises(InputTooLarge, match="over the limit"):
        open_document(png, ImagingConfig(max_pixels=10_000_000))


def test_pdf_page_over_pixel_ceiling_is_refused(tmp_path):
    pdf = _text_pdf(tmp_path / "digital.pdf", CLEAN_TEXT)
    with open_document(pdf, ImagingConfig(dpi=600, max_pixels=5_000_000)) as doc:
        with pytest.raises(InputTooLarge, match="decompression bomb"):
            doc.page_image(1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"this is not a document at all\n" * 20, "not a PDF or a readable image"),
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "PDF"),
    ],
)
def test_unreadable_inputs_say_why(tmp_path, content, reason):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    with pytest.raises(UnreadableInput, match=reason):
        open_document(bad, ImagingConfig())


def test_encrypted_pdf_is_unreadable(tmp_path):
    pdf = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(pdf), pagesize=A4, encrypt="secret")
    c.drawString(100, 700, "locked")
    c.showPage()
    c.save()
    with pytest.raises(UnreadableInput, match="encrypted"):
        open_document(pdf, ImagingConfig())


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(UnreadableInput, match="cannot read"):
        open_document(tmp_path / "nope.pdf", ImagingConfig())


def test_jpeg_bytes_with_pdf_name_open_as_image(tmp_path):
    buf = io.BytesIO()
    _scan_image().save(buf, format="JPEG", dpi=(200, 200))
    odd = tmp_path / "scan.pdf"
    odd.write_bytes(buf.getvalue())
    with open_document(odd, ImagingConfig()) as doc:
        assert doc.page_image(1).image.shape == (2339, 1654, 3)


def _rss_mb() -> float:
    """Resident memory once the C heap has handed back what is free, so only held memory counts."""
    _heap_trimmer()()
    return psutil.Process().memory_info().rss / 2**20


def test_long_scanned_pdf_is_read_in_flat_memory(tmp_path):
    """pdfium keeps what it parsed until its document closes: reading a long scan used to hold
    every page's image stream (the file's size) until the end of the document."""
    path = build_long_pdf("u000_scan", 96, tmp_path / "long.pdf")
    n_source = manifest()["u000_scan"]["pages"]
    before = _rss_mb()
    with open_document(path, ImagingConfig()) as doc:
        assert doc.n_pages == 96 and all(p.kind == "scan" for p in doc.pages)
        start = doc.page_image(1).image
        for page in range(2, 96):
            shape = doc.page_image(page).image.shape
        held = _rss_mb() - before - start.nbytes / 2**20
        last = doc.page_image(96 - n_source + 1).image
    # A 0.32 MB-a-page file: +30 MB after 96 pages when pdfium's parsed objects pile up.
    assert held < 12, f"{held:.0f} MB held after reading 96 pages"
    assert np.array_equal(start, last)  # the same page, read before and after the file was reopened
    assert shape == start.shape
