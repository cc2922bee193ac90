"""Input files → pages: what each page is (text layer, scan, scan with an untrustworthy OCR layer)
and, on demand, its pixels.

Only this module reads input files, and it only reads them. Pages are imaged lazily, one at a
time, so a 500-page scan never sits in memory at once. PDFs go through pypdfium2: it renders a
page several times faster than poppler's pdftoppm (BENCHMARK.md, design measurements), and a
scanned page that is one embedded image is taken out at its native resolution instead of being
resampled, which keeps the scanner's pixels for the grid and the recognizer.

The page kind decides the route. A visible, clean text layer is trusted (text route, camelot). A
text layer that is invisible or hidden under the page image is somebody's OCR; one with traditional
glyphs (項財數), spaced digits (`459. 80`) or garbage is bad OCR; both are `untrusted_text` and go
the scan route like a plain scan, because the rulings we need are only in the image. A PDF whose
owner password forbids copying its text opens in any viewer, but the table reader refuses its text
layer: its pages are read from their image instead, like a scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageOps, UnidentifiedImageError

from ..config import ImagingConfig
from ..errors import InputTooLarge, UnreadableInput
from ..types import PageImage

PageKind = Literal["text", "scan", "untrusted_text"]

_PDF_MAGIC = b"%PDF-"
_A4_LONG_SIDE_IN = 11.69
# A page image whose size at its stated dpi is not a plausible paper size (A5 … A3, long side in
# inches) carries a wrong dpi tag (phone photos say 72): estimate from the A4 long side instead.
_PLAUSIBLE_LONG_SIDE_IN = (5.0, 17.5)


@dataclass(frozen=True)
class PageInfo:
    """What one page is, measured without imaging it.

    `reason` says in words why the page got its kind (shown to a reviewer and in logs).
    `native_image` is set when a PDF page is one embedded image that will be taken out as is.
    """

    page: int
    kind: PageKind
    reason: str
    width_pt: float = 0.0
    height_pt: float = 0.0
    n_chars: int = 0
    hidden_text_share: float = 0.0
    image_share: float = 0.0
    n_paths: int = 0
    native_image: bool = False


@dataclass
class SourceDocument:
    """An opened input file: its pages' kinds, and their images on request.

    Use as a context manager (or call `close`) so the PDF handle is released. `page_image`
    images one page per call and keeps nothing, so memory stays flat over long documents.
    """

    path: Path
    n_pages: int
    pages: list[PageInfo]
    cfg: ImagingConfig
    _pdf: _ReopenedPdf | None = field(default=None, repr=False)

    def page_image(self, page: int) -> PageImage:
        """The page's pixels (BGR uint8); `page` is 1-based."""
        if not 1 <= page <= self.n_pages:
            raise ValueError(f"page {page} out of range 1..{self.n_pages}")
        if self._pdf is not None:
            return _pdf_page_image(self._pdf, self.pages[page - 1], self.cfg)
        return _image_file_page(self.path, page, self.cfg)

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None

    def __enter__(self) -> SourceDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_document(path: Path, cfg: ImagingConfig) -> SourceDocument:
    """Open a PDF or an image file (png, jpg, multi-page tif) and classify its pages.

    The type is decided by the file's content, not its name. Raises `UnreadableInput` for an
    empty, truncated, encrypted or unknown file and `InputTooLarge` for an image over the pixel
    ceiling.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise UnreadableInput(f"cannot read the file ({exc.strerror or exc})") from exc
    if not head:
        raise UnreadableInput("the file is empty (0 bytes)")
    if _PDF_MAGIC in head:
        return _open_pdf(path, cfg)
    return _open_image_file(path, cfg)


# --- PDF -----------------------------------------------------------------------------------------


_PAGES_PER_OPEN = 16


class _ReopenedPdf:
    """A PDF handle that is closed and opened again every `_PAGES_PER_OPEN` pages.

    pdfium keeps every object it has parsed until its document is closed, a scanned page's image
    stream included: after reading a long scan it held as much memory as the file's size, and a
    worker's memory grew with the document's length. Reopening costs next to nothing.
    """

    def __init__(self, path: Path):
        """Opens the file at once, so an unreadable or encrypted PDF fails here."""
        self.path = path
        self._pdf: pdfium.PdfDocument | None = pdfium.PdfDocument(path)
        self._pages_read = 0

    def __len__(self) -> int:
        return len(self._document())

    def raw(self) -> pdfium_c.FPDF_DOCUMENT:
        """The open document's pdfium handle, for calls pypdfium2 does not wrap."""
        return self._document().raw

    def page(self, number: int) -> pdfium.PdfPage:
        """Page `number` (1-based); the caller closes it before asking for another."""
        if self._pages_read >= _PAGES_PER_OPEN:
            self.close()
        self._pages_read += 1
        return self._document()[number - 1]

    def _document(self) -> pdfium.PdfDocument:
        if self._pdf is None:
            self._pdf = pdfium.PdfDocument(self.path)
            self._pages_read = 0
        return self._pdf

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


def _open_pdf(path: Path, cfg: ImagingConfig) -> SourceDocument:
    try:
        pdf = _ReopenedPdf(path)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if "password" in message.lower():
            raise UnreadableInput("the PDF is encrypted (password required)") from exc
        raise UnreadableInput(f"not a readable PDF ({message})") from exc
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise UnreadableInput("the PDF has no pages")
        copyable = _text_copy_allowed(pdf)
        pages = [_classify_pdf_page(pdf, i + 1, cfg, copyable) for i in range(n_pages)]
    except pdfium.PdfiumError as exc:
        pdf.close()
        raise UnreadableInput(f"the PDF is damaged ({exc})") from exc
    except BaseException:
        pdf.close()
        raise
    return SourceDocument(path=path, n_pages=n_pages, pages=pages, cfg=cfg, _pdf=pdf)


def _text_copy_allowed(pdf: _ReopenedPdf) -> bool:
    """Does the PDF let its text be copied? Permission bit 5 of an encrypted PDF, which camelot's
    parser enforces ("text extraction is not allowed"); an unencrypted PDF has every bit set."""
    return bool(pdfium_c.FPDF_GetDocPermissions(pdf.raw()) & 0x10)


def _classify_pdf_page(pdf: _ReopenedPdf, number: int, cfg: ImagingConfig, copyable: bool = True) -> PageInfo:
    """Measure the page's objects and text (a few ms) and decide its kind."""
    page = pdf.page(number)
    try:
        width, height = page.get_size()
        page_area = max(width * height, 1.0)
        # Objects in painting order: (type, bounds, invisible render mode).
        objects: list[tuple[int, tuple[float, float, float, float], bool]] = []
        for obj in page.get_objects():
            invisible = (
                obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT
                and pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
            )
            objects.append((obj.type, obj.get_bounds(), invisible))
        images = [b for t, b, _ in objects if t == pdfium_c.FPDF_PAGEOBJ_IMAGE]
        n_text_objs = sum(t == pdfium_c.FPDF_PAGEOBJ_TEXT for t, _, _ in objects)
        n_paths = sum(t == pdfium_c.FPDF_PAGEOBJ_PATH for t, _, _ in objects)
        hidden = _hidden_text_flags(objects)
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
        image_share = min(1.0, sum(_area_in_page(b, width, height) for b in images) / page_area)
        chars = re.sub(r"\s", "", text)
        hidden_share = (sum(hidden) / len(hidden)) if hidden else 0.0
        native = (
            len(images) == 1
            and _area_in_page(images[0], width, height) / page_area >= 0.85
            and n_paths == 0
            and (n_text_objs == 0 or hidden_share == 1.0)
            and page.get_rotation() == 0
        )
        kind, reason = _page_kind(text, chars, hidden_share, image_share, cfg)
        if kind == "text" and not copyable:
            kind, reason = "scan", f"{reason}, which the PDF forbids copying (owner password): read from its image"
        return PageInfo(
            page=number,
            kind=kind,
            reason=reason,
            width_pt=width,
            height_pt=height,
            n_chars=len(chars),
            hidden_text_share=round(hidden_share, 3),
            image_share=round(image_share, 3),
            n_paths=n_paths,
            native_image=native,
        )
    finally:
        page.close()


def _hidden_text_flags(objects: list[tuple[int, tuple[float, float, float, float], bool]]) -> list[bool]:
    """Per text object: is it invisible, or painted before an image that covers its centre?

    Objects come in painting order, so an image listed after a text object is drawn over it.
    """
    flags: list[bool] = []
    for i, (kind, bounds, invisible) in enumerate(objects):
        if kind != pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        covered = any(
            later == pdfium_c.FPDF_PAGEOBJ_IMAGE and b[0] <= cx <= b[2] and b[1] <= cy <= b[3]
            for later, b, _ in objects[i + 1 :]
        )
        flags.append(invisible or covered)
    return flags


def _area_in_page(bounds: tuple[float, float, float, float], width: float, height: float) -> float:
    left, bottom, right, top = bounds
    w = max(0.0, min(right, width) - max(left, 0.0))
    h = max(0.0, min(top, height) - max(bottom, 0.0))
    return w * h


_SPACED_DIGITS = re.compile(r"\d[.,] \d|\d \.\d")
_CJK = re.compile(r"[\u3400-\u9fff]")
# What a real form's text layer is made of: CJK, ASCII, CJK and full-width punctuation, ≥ ≤ etc.
_EXPECTED_CHAR = re.compile(r"[\u3400-\u9fff\u0020-\u007e\u3000-\u303f\uff00-\uffef“”‘’·—…≥≤×÷±%‰℃\u2460-\u24ff]")


def _page_kind(
    text: str, chars: str, hidden_share: float, image_share: float, cfg: ImagingConfig
) -> tuple[PageKind, str]:
    """`text` is the layer as extracted, `chars` the same without whitespace."""
    if len(chars) < cfg.min_text_chars:
        what = "an image" if image_share > 0.5 else "no text layer"
        return "scan", f"{what}, {len(chars)} text characters"
    if hidden_share >= 0.5:
        return "untrusted_text", f"{hidden_share:.0%} of the text is invisible or under the page image (an OCR layer)"
    n_cjk = len(_CJK.findall(chars))
    traditional = _traditional_count(chars)
    if n_cjk and traditional / n_cjk > cfg.max_traditional_share:
        return "untrusted_text", f"{traditional} traditional glyphs among {n_cjk} CJK characters (bad OCR layer)"
    spaced = len(_SPACED_DIGITS.findall(text))
    if spaced >= cfg.max_spaced_numbers:
        return "untrusted_text", f"{spaced} numbers with spaces inside (bad OCR layer)"
    unexpected = sum(1 for ch in chars if not _EXPECTED_CHAR.match(ch))
    if unexpected / len(chars) > cfg.max_garbage_share:
        return "untrusted_text", f"{unexpected} of {len(chars)} characters are unexpected symbols (bad OCR layer)"
    return "text", f"text layer of {len(chars)} characters"


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


def _traditional_count(chars: str) -> int:
    """Characters that OpenCC t2s changes: traditional forms, which these simplified forms never use."""
    cjk = "".join(_CJK.findall(chars))
    converted = _t2s().convert(cjk)
    if len(converted) != len(cjk):
        return sum(1 for ch in cjk if _t2s().convert(ch) != ch)
    return sum(1 for a, b in zip(cjk, converted, strict=True) if a != b)


def _pdf_page_image(pdf: _ReopenedPdf, info: PageInfo, cfg: ImagingConfig) -> PageImage:
    try:
        page = pdf.page(info.page)
    except pdfium.PdfiumError as exc:
        raise UnreadableInput(f"page {info.page} cannot be opened ({exc})") from exc
    try:
        if info.native_image:
            native = _native_image(page, info, cfg)
            if native is not None:
                return native
        scale = cfg.dpi / 72.0
        w_px, h_px = round(info.width_pt * scale), round(info.height_pt * scale)
        _check_pixels(w_px, h_px, info.page, cfg)
        image = _bitmap_to_bgr(page.render(scale=scale, rotation=0))
        return PageImage(page=info.page, image=image, dpi=float(cfg.dpi))
    except pdfium.PdfiumError as exc:
        raise UnreadableInput(f"page {info.page} cannot be imaged ({exc})") from exc
    finally:
        page.close()


def _native_image(page: pdfium.PdfPage, info: PageInfo, cfg: ImagingConfig) -> PageImage | None:
    """The page's single image at its own resolution, or None when it must be rendered instead.

    Only an upright, unflipped placement is taken as is; anything else is rendered so that the
    PDF's transform is honoured.
    """
    image_obj = next(iter(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])), None)
    if image_obj is None:
        return None
    matrix = image_obj.get_matrix().get()
    a, b, c, d = matrix[:4]
    if abs(b) > 1e-6 or abs(c) > 1e-6 or a <= 0 or d <= 0:
        return None
    px_w, px_h = image_obj.get_px_size()
    _check_pixels(px_w, px_h, info.page, cfg)
    bitmap = image_obj.get_bitmap(render=False)
    if bitmap.mode not in {"L", "BGR", "BGRX", "BGRA"}:
        return None
    image = _bitmap_to_bgr(bitmap)
    # Scanners work in whole dpi; the page size in points only approximates it.
    dpi = float(round(image.shape[1] / (a / 72.0)))
    if dpi > cfg.max_native_dpi:
        factor = cfg.dpi / dpi
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        dpi = float(cfg.dpi)
    return PageImage(page=info.page, image=image, dpi=dpi)


def _bitmap_to_bgr(bitmap: pdfium.PdfBitmap) -> np.ndarray:
    """A BGR copy of the bitmap's pixels (the copy lets pdfium free its buffer when collected)."""
    array = bitmap.to_numpy()
    if bitmap.mode == "L":
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if bitmap.mode in {"BGRX", "BGRA"}:
        return np.ascontiguousarray(array[:, :, :3])
    return array.copy()


# --- image files ---------------------------------------------------------------------------------


def _open_image_file(path: Path, cfg: ImagingConfig) -> SourceDocument:
    with _open_pil(path) as im:
        n_pages = getattr(im, "n_frames", 1)
        _check_pixels(im.width, im.height, 1, cfg)
    pages = [PageInfo(page=i + 1, kind="scan", reason="image file") for i in range(n_pages)]
    return SourceDocument(path=path, n_pages=n_pages, pages=pages, cfg=cfg)


def _open_pil(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise InputTooLarge(f"the image is too large to open safely ({exc})") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise UnreadableInput("not a PDF or a readable image (png, jpg, tif)") from exc


def _image_file_page(path: Path, page: int, cfg: ImagingConfig) -> PageImage:
    with _open_pil(path) as im:
        try:
            im.seek(page - 1)
            _check_pixels(im.width, im.height, page, cfg)
            dpi = _image_dpi(im)
            frame = ImageOps.exif_transpose(im) if page == 1 else im
            array = _pil_to_bgr(frame)
        except (OSError, ValueError, EOFError) as exc:
            raise UnreadableInput(f"page {page} of the image cannot be decoded ({exc})") from exc
    return PageImage(page=page, image=array, dpi=_plausible_dpi(dpi, array.shape[1], array.shape[0]))


def _image_dpi(im: Image.Image) -> float | None:
    value = im.info.get("dpi")
    if not value:
        return None
    try:
        return float(value[0])
    except (TypeError, ValueError, IndexError):
        return None


def _plausible_dpi(dpi: float | None, width: int, height: int) -> float:
    long_px = max(width, height)
    if dpi and dpi > 0:
        long_in = long_px / dpi
        if _PLAUSIBLE_LONG_SIDE_IN[0] <= long_in <= _PLAUSIBLE_LONG_SIDE_IN[1]:
            return round(dpi, 1)
    return round(long_px / _A4_LONG_SIDE_IN, 1)


def _pil_to_bgr(im: Image.Image) -> np.ndarray:
    if im.mode in {"I;16", "I;16B", "I;16L", "I"}:
        grey = np.asarray(im, dtype=np.uint32)
        top = max(int(grey.max()), 1)
        grey8 = (grey * 255 // top).astype(np.uint8)
        return cv2.cvtColor(grey8, cv2.COLOR_GRAY2BGR)
    if im.mode in {"RGBA", "LA", "P", "PA"}:
        # Transparent areas are paper: composite on white.
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = im.convert("RGB")
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _check_pixels(width: int, height: int, page: int, cfg: ImagingConfig) -> None:
    pixels = int(width) * int(height)
    if pixels > cfg.max_pixels:
        raise InputTooLarge(
            f"page {page} would be {width}×{height} = {pixels:,} pixels, over the limit of "
            f"{cfg.max_pixels:,} (imaging.max_pixels); refusing it as a possible decompression bomb"
        )
