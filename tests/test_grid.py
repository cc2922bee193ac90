"""Grid detection on rendered forms whose cell structure is known, clean and degraded.

The renderer below draws a 项目支出绩效自评表 the way the real forms are laid out (merged
项目资金 block, merged 一级/二级 indicator cells, wrapped names, a 总分 row) with the real
vocabulary, then scans it badly on purpose: skew, JPEG, faint and broken rulings, a red seal over
the bottom rows, a dark scanner border, slight perspective, 150–300 dpi. The truth is the cell
list it was drawn from, so every cell and span can be checked. Other scan-route tests import the
renderer from here (`render_form`, `degrade`).
"""

from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.config import GridConfig
from pipeline.scan.grid import detect_grids
from pipeline.types import PageImage, TableGrid

FONTS = {
    "hei": Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    "ming": Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
}
MM_PER_IN = 25.4


@dataclass(frozen=True)
class SpecCell:
    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    align: str = "c"


@dataclass(frozen=True)
class FormSpec:
    title: str
    col_mm: tuple[float, ...]
    cells: tuple[SpecCell, ...]

    @property
    def n_rows(self) -> int:
        return max(c.row + c.rowspan for c in self.cells)


INDICATORS = [
    ("成本指标", "经济成本指标", "两新党组织书记、信息员单次人员补贴标准", "≤350元/月", "300", "1", "1", ""),
    ("成本指标", "经济成本指标", "党员志愿服务活动成本", "≤50000元", "6555", "1", "1", ""),
    ("成本指标", "经济成本指标", "进博会专项服务工作成本", "≤300000元", "851972", "1", "0", "临近进博时刻，市、区、街道三级多样化任务增加"),
    ("成本指标", "经济成本指标", "基层各类党组织活动、建设成本", "≤2343900元", "6032343.09", "2", "1", "区级下拨资金增加，调整该子项预算"),
    ("产出指标", "数量指标", "社区党校教学培训活动完成率", "=100.00(%)", "100%", "1", "1", ""),
    ("产出指标", "数量指标", "党群服务站建设数量", "15个", "15", "1", "1", ""),
    ("产出指标", "数量指标", "书记工作室带教学员数量", "=70.00(人)", "70", "1", "1", ""),
    ("产出指标", "数量指标", "“双报到”“双报告”完成率", "≥90.00(%)", "65%", "1", "0.5", "“双报到”“双报告”完成率65%"),
    ("产出指标", "质量指标", "社区党校党课项目实施达标率", "=100.00(%)", "100%", "1", "1", ""),
    ("产出指标", "质量指标", "书记工作室带教活动质量达标率", "=100.00(%)", "100%", "0.5", "0.5", ""),
    ("产出指标", "时效指标", "中心服务活动完成及时性", "及时", "及时", "2", "2", ""),
    ("效益指标", "社会效益指标", "“两新”党建服务覆盖党员人数", "≥3500.00(人)", "3699", "5", "5", ""),
    ("效益指标", "可持续影响指标", "基地日常运行工作完成率", "=100.00(%)", "100%", "5", "4.5", ""),
    ("满意度指标", "服务对象满意度指标", "党员群众满意度", "≥90%", "95.20%", "10", "10", ""),
]


def project_form(n_indicators: int = len(INDICATORS), total: str = "88.00") -> FormSpec:
    """A 项目支出绩效自评表 (9 columns) with the funding block and merged indicator cells.

    Columns: 一级 | 二级 | 三级 | 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差 (two columns, split
    only in the funding rows, as on the real form).
    """
    cells = [
        SpecCell(0, 0, "项目名称", colspan=2),
        SpecCell(0, 2, "社区党建专项", colspan=7, align="l"),
        SpecCell(1, 0, "主管部门", colspan=2),
        SpecCell(1, 2, "上海市闵行区新虹街道", colspan=2, align="l"),
        SpecCell(1, 4, "实施单位"),
        SpecCell(1, 5, "上海市闵行区新虹街道社区党群服务中心", colspan=4, align="l"),
        SpecCell(2, 0, "项目资金（万元）", rowspan=5, colspan=2),
        SpecCell(2, 2, ""),
    ]
    heads = ["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
    cells += [SpecCell(2, 3 + i, h) for i, h in enumerate(heads)]
    money = [
        ("年度资金总额", ["459.80", "823.00", "823.00", "10", "100.00%", "10.00"]),
        ("其中：当年财政拨款", ["459.80", "823.00", "823.00", "—", "100.00%", "—"]),
        ("上年结转资金", ["0.00", "0.00", "0.00", "—", "0.00%", "—"]),
        ("其他资金", ["0.00", "0.00", "0.00", "—", "0.00%", "—"]),
    ]
    for i, (label, values) in enumerate(money):
        cells.append(SpecCell(3 + i, 2, label))
        cells += [SpecCell(3 + i, 3 + j, v) for j, v in enumerate(values)]
    cells += [
        SpecCell(7, 0, "年度总体目标", rowspan=2),
        SpecCell(7, 1, "预期目标", colspan=4),
        SpecCell(7, 5, "实际完成情况", colspan=4),
        SpecCell(8, 1, "按时保质完成社区党校教学培训活动、书记工作室带教活动等工作。", colspan=4, align="l"),
        SpecCell(8, 5, "全年完成社区党校教学培训活动，开展党员志愿服务项目。", colspan=4, align="l"),
    ]
    heads = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
    cells += [SpecCell(9, i, h, colspan=2 if i == 7 else 1) for i, h in enumerate(heads)]
    rows = INDICATORS[:n_indicators]
    first = 10
    for key_index in (0, 1):
        start = 0
        while start < len(rows):
            end = start
            while end + 1 < len(rows) and rows[end + 1][key_index] == rows[start][key_index]:
                end += 1
            cells.append(SpecCell(first + start, key_index, rows[start][key_index], rowspan=end - start + 1))
            start = end + 1
    for i, (_, _, name, target, actual, max_score, score, reason) in enumerate(rows):
        r = first + i
        cells += [
            SpecCell(r, 2, name, align="l"),
            SpecCell(r, 3, target),
            SpecCell(r, 4, actual),
            SpecCell(r, 5, max_score),
            SpecCell(r, 6, score),
            SpecCell(r, 7, reason, colspan=2, align="l"),
        ]
    last = first + len(rows)
    cells += [
        SpecCell(last, 0, "总分", colspan=5),
        SpecCell(last, 5, "100"),
        SpecCell(last, 6, total),
        SpecCell(last, 7, "", colspan=2),
    ]
    col_mm = (15.0, 20.0, 42.0, 20.0, 20.0, 13.0, 13.0, 14.0, 15.0)
    return FormSpec("项目支出绩效自评表", col_mm, tuple(cells))


@dataclass(frozen=True)
class Rendered:
    image: np.ndarray  # BGR
    dpi: float
    spec: FormSpec
    col_x: tuple[float, ...]  # ruling positions in pixels
    row_y: tuple[float, ...]


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if line and font.getlength(line + ch) > width:
            lines.append(line)
            line = ch
        else:
            line += ch
    return [*lines, line] if line else lines


def render_form(
    spec: FormSpec,
    dpi: float = 200,
    font: str = "ming",
    line_grey: int = 0,
    line_width_pt: float = 0.75,
    broken: float = 0.0,
    seed: int = 0,
) -> Rendered:
    """Draw the form on an A4 portrait page. `broken` is the share of each ruling knocked out in gaps."""
    rng = random.Random(seed)
    px = dpi / MM_PER_IN
    pt = dpi / 72
    size_pt = 9.0
    fnt = ImageFont.truetype(str(FONTS[font]), max(8, round(size_pt * pt)))
    title_font = ImageFont.truetype(str(FONTS[font]), round(16 * pt))
    pad = 1.2 * px
    line_h = size_pt * pt * 1.35
    col_x = [25 * px]
    for w in spec.col_mm:
        col_x.append(col_x[-1] + w * px)
    # Row heights: 8 mm, or more where a cell's wrapped text needs it (charged to its last row).
    heights = [8 * px] * spec.n_rows
    wrapped = {}
    for c in spec.cells:
        width = col_x[c.col + c.colspan] - col_x[c.col] - 2 * pad
        wrapped[c] = _wrap(c.text, fnt, width)
        need = len(wrapped[c]) * line_h + 2 * pad + 2 * px
        have = sum(heights[c.row : c.row + c.rowspan])
        if need > have:
            heights[c.row + c.rowspan - 1] += need - have
    row_y = [45 * px]
    for h in heights:
        row_y.append(row_y[-1] + h)
    width_px, height_px = round(210 * px), round(max(297 * px, row_y[-1] + 20 * px))
    text_layer = Image.new("L", (width_px, height_px), 255)
    draw = ImageDraw.Draw(text_layer)
    tw = draw.textlength(spec.title, font=title_font)
    draw.text(((width_px - tw) / 2, 25 * px), spec.title, font=title_font, fill=0)
    draw.text((col_x[0], row_y[0] - 7 * px), "（2023年度）", font=fnt, fill=0)
    lines = Image.new("L", (width_px, height_px), 0)
    ldraw = ImageDraw.Draw(lines)
    lw = max(1, round(line_width_pt * pt))
    for c in spec.cells:
        x0, x1 = col_x[c.col], col_x[c.col + c.colspan]
        y0, y1 = row_y[c.row], row_y[c.row + c.rowspan]
        for seg in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
            ldraw.line(seg, fill=255, width=lw)
        block = wrapped[c]
        top = (y0 + y1) / 2 - len(block) * line_h / 2
        for i, text in enumerate(block):
            w = draw.textlength(text, font=fnt)
            x = x0 + pad if c.align == "l" else (x0 + x1 - w) / 2
            draw.text((x, top + i * line_h + 0.15 * line_h), text, font=fnt, fill=0)
    mask = np.array(lines)
    if broken > 0:
        mask = _break_lines(mask, broken, px, rng)
    page = np.array(text_layer).astype(np.int32)
    page = np.minimum(page, 255 - (mask.astype(np.int32) * (255 - line_grey) // 255))
    bgr = cv2.cvtColor(page.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return Rendered(bgr, float(dpi), spec, tuple(col_x), tuple(row_y))


def _break_lines(mask: np.ndarray, share: float, px: float, rng: random.Random) -> np.ndarray:
    """Knock random gaps (0.3–2 mm) into the rulings until about `share` of them is gone."""
    out = mask.copy()
    h, w = mask.shape
    n_gaps = int(share * (h + w) / (1.2 * px) * 3)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return out
    for _ in range(n_gaps):
        i = rng.randrange(len(ys))
        g = max(1, round(rng.uniform(0.3, 2.0) * px))
        y, x = ys[i], xs[i]
        out[max(0, y - g // 2) : y + g // 2 + 1, max(0, x - g // 2) : x + g // 2 + 1] = 0
    return out


def degrade(
    image: np.ndarray,
    dpi: float,
    skew_deg: float = 0.0,
    jpeg: int | None = None,
    seal: bool = False,
    border: bool = False,
    perspective: float = 0.0,
    noise: float = 0.0,
    uneven: bool = False,
    one_bit: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """Scan the page badly: seal, light falloff, rotation, perspective, border, noise, blur, JPEG,
    and last, for a fax-like CCITT scan, every pixel to black or white (`one_bit`)."""
    rng = np.random.default_rng(seed)
    img = image.astype(np.float32)
    h, w = img.shape[:2]
    px = dpi / MM_PER_IN
    if seal:
        img *= _seal(h, w, px, rng)
    if uneven:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img *= (0.78 + 0.22 * (xx / w) * (1 - 0.3 * yy / h))[:, :, None]
    if skew_deg or perspective:
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        jitter = rng.uniform(-perspective, perspective, size=(4, 2)) * [w, h]
        dst = (src + jitter).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        rot = cv2.getRotationMatrix2D((w / 2, h / 2), skew_deg, 1.0)
        matrix = np.vstack([rot, [0, 0, 1]]) @ matrix
        img = cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    if border:
        b = int(rng.uniform(3, 8) * px)
        img[:, :b] = 35
        img[: int(b * 0.6), :] = 45
    img = cv2.GaussianBlur(img, (0, 0), 0.5 * dpi / 200)
    if noise:
        img += rng.normal(0, noise, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if one_bit:
        grey = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
        out = cv2.cvtColor(np.where(grey > 150, 255, 0).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return out


def _seal(h: int, w: int, px: float, rng: np.random.Generator) -> np.ndarray:
    """A red round seal (ring, star, text arc) as a multiplicative BGR layer over the lower page."""
    layer = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(layer)
    r = 21 * px
    cx, cy = w * float(rng.uniform(0.45, 0.7)), h * 0.8
    red = (215, 40, 45)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=red, width=max(2, round(1.2 * px)))
    star = [
        (cx + (r * 0.3 if k % 2 == 0 else r * 0.12) * math.sin(k * math.pi / 5),
         cy - (r * 0.3 if k % 2 == 0 else r * 0.12) * math.cos(k * math.pi / 5))
        for k in range(10)
    ]
    draw.polygon(star, fill=red)
    fnt = ImageFont.truetype(str(FONTS["hei"]), round(4 * px))
    for k, ch in enumerate("上海市闵行区新虹街道办事处"):
        a = math.radians(-150 + k * 25)
        draw.text((cx + 0.72 * r * math.cos(a) - 2 * px, cy + 0.72 * r * math.sin(a) - 2 * px), ch, font=fnt, fill=red)
    return cv2.cvtColor(np.array(layer), cv2.COLOR_RGB2BGR).astype(np.float32) / 255.0


def as_page(image: np.ndarray, dpi: float, page: int = 1) -> PageImage:
    return PageImage(page=page, image=image, dpi=dpi)


def structure(grid: TableGrid) -> set[tuple[int, int, int, int]]:
    return {(c.row, c.col, c.rowspan, c.colspan) for c in grid.cells}


def expected_structure(spec: FormSpec) -> set[tuple[int, int, int, int]]:
    return {(c.row, c.col, c.rowspan, c.colspan) for c in spec.cells}


def page_bytes_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


# --- tests ---------------------------------------------------------------------------------------

SCANS = {
    "clean_200dpi": ({"dpi": 200}, {}),
    "clean_150dpi_hei": ({"dpi": 150, "font": "hei"}, {}),
    "clean_300dpi": ({"dpi": 300}, {}),
    "skew_2deg_jpeg40": ({"dpi": 200}, {"skew_deg": 2.0, "jpeg": 40}),
    "skew_-1.5deg_seal": ({"dpi": 200}, {"skew_deg": -1.5, "seal": True, "jpeg": 60}),
    "faint_broken_rulings": ({"dpi": 200, "line_grey": 170, "broken": 0.15}, {"jpeg": 50}),
    "faint_150dpi_skew": ({"dpi": 150, "line_grey": 160, "broken": 0.1}, {"jpeg": 40, "skew_deg": 1.0}),
    "border_perspective_uneven": ({"dpi": 200}, {"border": True, "perspective": 0.003, "skew_deg": 0.7,
                                                 "uneven": True, "noise": 5}),
    # Rulings barely darker than paper and broken every few millimetres, under a dark scanner
    # border: each grid line has stretches below half coverage beside fully ruled ones.
    "very_faint_broken_border": ({"dpi": 150, "line_grey": 200, "broken": 0.3},
                                 {"jpeg": 50, "skew_deg": 2.2, "border": True, "noise": 4}),
    "one_bit_skew_noise": ({"dpi": 200}, {"skew_deg": 1.0, "noise": 6, "one_bit": True, "seed": 3}),
    "phone_photo_perspective": ({"dpi": 200}, {"perspective": 0.025, "jpeg": 60, "noise": 4, "uneven": True}),
    "everything": ({"dpi": 200, "line_grey": 150, "broken": 0.15},
                   {"skew_deg": 1.5, "jpeg": 40, "seal": True, "border": True, "perspective": 0.003,
                    "noise": 4, "uneven": True}),
}


@pytest.mark.parametrize("name", list(SCANS))
def test_every_cell_and_span_found(name):
    render_args, scan_args = SCANS[name]
    spec = project_form()
    rendered = render_form(spec, **render_args)
    image = degrade(rendered.image, rendered.dpi, **scan_args) if scan_args else rendered.image
    detected = detect_grids(as_page(image, rendered.dpi), GridConfig())
    assert len(detected.grids) == 1
    grid = detected.grids[0]
    assert (grid.n_rows, grid.n_cols) == (spec.n_rows, len(spec.col_mm))
    assert structure(grid) == expected_structure(spec)
    assert abs(detected.skew_deg + scan_args.get("skew_deg", 0.0)) < 0.35


def test_boxes_are_the_rendered_cells():
    rendered = render_form(project_form(), dpi=200)
    detected = detect_grids(as_page(rendered.image, 200), GridConfig())
    assert detected.skew_deg == pytest.approx(0, abs=0.05)
    assert detected.image.image is rendered.image  # no skew: no resampling
    for cell in detected.grids[0].cells:
        want = (rendered.col_x[cell.col], rendered.row_y[cell.row],
                rendered.col_x[cell.col + cell.colspan], rendered.row_y[cell.row + cell.rowspan])
        assert np.allclose(cell.bbox.as_list(), want, atol=3), (cell, want)
        assert cell.text == ""


def test_deskewed_image_is_returned_with_boxes_on_it():
    rendered = render_form(project_form(4), dpi=200)
    skewed = degrade(rendered.image, 200, skew_deg=1.5)
    detected = detect_grids(as_page(skewed, 200), GridConfig())
    assert detected.skew_deg == pytest.approx(-1.5, abs=0.1)
    assert detected.image.image.shape == skewed.shape
    # On the deskewed image the 项目名称 box's top and bottom rulings are level: the mean ink of
    # the row just inside it is paper, not a sloped line.
    first = next(c for c in detected.grids[0].cells if (c.row, c.col) == (0, 0))
    band = detected.image.image[first.bbox.y0 + 5 : first.bbox.y1 - 5, first.bbox.x0 + 5 : first.bbox.x1 - 5]
    assert band.min(axis=1).max() > 200  # some row free of ink: no ruling crosses the interior


def test_page_without_table_has_no_grid():
    page = np.full((1600, 1200, 3), 255, np.uint8)
    cv2.putText(page, "no table here", (100, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 3)
    cv2.line(page, (100, 300), (1100, 300), (0, 0, 0), 2)  # an underline is not a table
    assert detect_grids(as_page(page, 150), GridConfig()).grids == []


@pytest.mark.skipif(not os.environ.get("PERFSCAN_GRID_BENCH"), reason="set PERFSCAN_GRID_BENCH=1 to run")
def test_fixture_scan_grids_match_their_digital_twins():
    """Every scanned fixture page's grid against camelot's grid of the born-digital twin (same
    layout, vector rulings): cells found with the right position and spans. Prints a summary.

    PERFSCAN_GRID_BENCH=1 .venv/bin/python -m pytest tests/test_grid.py -k fixture -s
    """
    import json
    import time

    import pypdfium2 as pdfium

    from pipeline.config import ImagingConfig
    from pipeline.ingest.imaging import open_document
    from pipeline.ingest.textlayer import read_text_tables

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    manifest = json.loads((fixtures / "manifest.json").read_text(encoding="utf-8"))
    right = total = pages = 0
    seconds = 0.0
    for name, entry in manifest.items():
        if entry["kind"] == "born_digital" or entry["form"] not in {"project", "unit_overall"}:
            continue
        twin = fixtures / "docs" / f"{entry['twin']}.pdf"
        twin_pdf = pdfium.PdfDocument(str(twin))
        with open_document(fixtures / "docs" / f"{name}.pdf", ImagingConfig()) as doc:
            for info in doc.pages:
                truth = read_text_tables(twin, info.page, twin_pdf[info.page - 1].get_height())
                start = time.process_time()
                detected = detect_grids(doc.page_image(info.page), GridConfig())
                seconds += time.process_time() - start
                pages += 1
                for k, table in enumerate(truth):
                    want = {(c.row, c.col, c.rowspan, c.colspan) for c in table.cells}
                    got = structure(detected.grids[k]) if k < len(detected.grids) else set()
                    right += len(want & got)
                    total += len(want)
                    if want != got:
                        print(f"{name} p{info.page}: missing {sorted(want - got)} extra {sorted(got - want)}")
        twin_pdf.close()
    print(f"grid: {right}/{total} cells right ({100 * right / total:.2f}%), {pages} pages, "
          f"{seconds / pages:.2f} CPU s/page")
    assert right / total > 0.99


def test_one_lost_edge_beside_a_label_stays_local():
    """A label cell (two rows tall) beside two value cells whose left edge was too faint to see on
    the lower row: the label and the lower value join into an L. That L is cut into rectangles;
    widening it to its bounding box swallowed the upper value too, and on a real page the
    widening cascaded until one cell covered the whole table."""
    from pipeline.scan.slots import merged_cells

    n_rows, n_cols = 3, 3
    right = np.ones((n_rows, n_cols + 1), dtype=bool)
    below = np.ones((n_rows + 1, n_cols), dtype=bool)
    below[1, 0] = False  # the label spans rows 0–1 of column 0
    right[1, 1] = False  # lost: the edge between the label and row 1's value
    ys, xs = np.mgrid[0 : n_rows + 1, 0 : n_cols + 1]
    corners = np.stack([xs * 100.0, ys * 50.0], axis=-1)
    cells = merged_cells(1, right, below, corners, (1000, 1000), right.astype(float), below.astype(float))
    spans = {(c.row, c.col, c.rowspan, c.colspan) for c in cells}
    assert (0, 1, 1, 1) in spans and (0, 2, 1, 1) in spans  # the upper values are untouched
    assert (2, 0, 1, 1) in spans and (2, 1, 1, 1) in spans  # so is the row below
    covered = sum(c.rowspan * c.colspan for c in cells)
    assert covered == n_rows * n_cols  # every slot in exactly one cell


def test_a_frame_side_faded_away_is_put_back_where_the_rulings_across_end():
    """The left side of the table faded away on a poor scan: the column beside it (一级 names and
    with them every row's block) went missing. The rulings across still run out to it."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    x = round(rendered.col_x[0])
    image[:, x - 4 : x + 5] = 255
    grids = detect_grids(as_page(degrade(image, 200, jpeg=80, noise=2), 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def test_a_cell_joined_to_a_merged_one_is_cut_along_the_faded_edge():
    """A 三级 name's cell joined to the empty top slot of the 二级 cell beside it (their edge faded
    on that row, a third of it still ruled) and so to the whole 二级 cell: cut along the faded
    edge, not across the 二级 cell, where nothing is ruled at all."""
    from pipeline.scan.slots import merged_cells

    n_rows, n_cols = 3, 2
    right = np.ones((n_rows, n_cols + 1), dtype=bool)
    below = np.ones((n_rows + 1, n_cols), dtype=bool)
    below[1:3, 0] = False  # the 二级 cell spans rows 0–2 of column 0
    right[0, 1] = False  # faded: the edge between it and row 0's name
    ruled_right, ruled_below = right.astype(float), below.astype(float)
    ruled_right[0, 1] = 0.3
    ys, xs = np.mgrid[0 : n_rows + 1, 0 : n_cols + 1]
    corners = np.stack([xs * 100.0, ys * 50.0], axis=-1)
    cells = merged_cells(1, right, below, corners, (1000, 1000), ruled_right, ruled_below)
    assert {(c.row, c.col, c.rowspan, c.colspan) for c in cells} == {(0, 0, 3, 1), (0, 1, 1, 1), (1, 1, 1, 1),
                                                                   (2, 1, 1, 1)}


def test_a_cell_joined_round_a_ruling_through_a_narrow_slot_is_cut_along_it():
    """A ruling of the header part cut the 得分 column into a narrow slot and a wide one; the row
    line between two scores is ruled across the wide slot, lost across the narrow one. The four
    slots join round the line's end into a rectangle, but the line runs over most of it: two
    cells (`3.00` `2.40` were read as one)."""
    from pipeline.scan.slots import merged_cells

    right = np.ones((2, 3), dtype=bool)
    right[:, 1] = False  # the header ruling is not drawn in these rows
    below = np.ones((3, 2), dtype=bool)
    below[1, 0] = False  # lost over the narrow slot
    xs, ys = [0.0, 15.0, 150.0], [0.0, 100.0, 200.0]
    corners = np.array([[(x, y) for x in xs] for y in ys])
    ruled_right, ruled_below = right.astype(float), below.astype(float)
    cells = merged_cells(1, right, below, corners, (1000, 1000), ruled_right, ruled_below)
    assert {(c.row, c.col, c.rowspan, c.colspan) for c in cells} == {(0, 0, 1, 2), (1, 0, 1, 2)}


def test_two_weights_in_a_column_of_narrow_slots_are_parted_by_their_text():
    """Rulings of the header part cut the 权重 column into narrow slots; the ruling between two
    一级 blocks faded there. `30` on one side and `25` on the other stand well apart: two cells,
    seen over the slots they fill together — one slot alone is narrower than the margins the
    test leaves at its sides, and read as text running across the line."""
    from pipeline.scan.cells import _parted_by_text

    dpi = 300  # margins of 0.05 in: 15 px, half a 30 px slot
    xs = [0, 200, 400, 600]
    ys = [0, 30, 60, 90, 190, 290, 390]  # three narrow slots, then three rows of the table
    corners = np.array([[(x, y) for x in xs] for y in ys], dtype=float)
    right = np.ones((6, 4), dtype=bool)
    right[0:3, 2] = False  # the line between the two weights faded over the narrow slots
    below = np.ones((7, 3), dtype=bool)
    below[1:3, 1:3] = False  # each weight's cell fills the three slots
    glyphs = np.zeros((400, 600), dtype=bool)
    glyphs[20:70, 270:330] = True  # 30
    glyphs[20:70, 470:530] = True  # 25
    parted = _parted_by_text(right, below, corners, lambda: glyphs, dpi, GridConfig())
    assert parted[0:3, 2].all()


def test_specks_of_a_1bit_scan_are_not_text_that_parts_a_merged_cell():
    """A merged note cell, its text in its lower rows, the row lines inside it ruled only in the
    other columns: nothing parts its empty upper rows from the text but a 1-bit scan's specks,
    which added up over the cell's width to as much ink as a glyph."""
    from pipeline.scan.cells import _parted_by_text, glyph_mask

    dpi, cfg = 200, GridConfig()
    xs, ys = [0, 300, 600, 700, 800], [0, 60, 120, 180, 240]
    corners = np.array([[(x, y) for x in xs] for y in ys], dtype=float)
    below = np.ones((5, 4), dtype=bool)
    below[1:4, 1] = False  # the note cell: column 1, all four rows
    right = np.ones((4, 5), dtype=bool)
    ink = np.zeros((240, 800), dtype=np.uint8)
    for x in range(350, 550, 30):  # its text: a line of glyph-sized blots
        ink[150:175, x : x + 20] = 255
    for k in range(24):  # specks over the empty top row, 2 px each
        y, x = 10 + (k * 37) % 25, 310 + (k * 53) % 280
        ink[y : y + 2, x : x + 2] = 255
    glyphs = glyph_mask(ink, dpi, cfg)
    parted = _parted_by_text(below.T, right.T, corners.transpose(1, 0, 2)[..., ::-1], lambda: glyphs.T, dpi, cfg).T
    assert not parted[1:4, 1].any()


def test_a_scanner_streak_through_the_page_is_not_a_column():
    """A dark line the scanner drew down the whole page, through the middle of a column's cells:
    it runs on into both margins, where the table's own rulings stop at its border."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    x = round((rendered.col_x[3] + rendered.col_x[4]) / 2) + 7  # inside column 3, clear of its text's centre
    image[:, x : x + 2] = 60
    scanned = degrade(image, 200, jpeg=60, noise=3)
    grids = detect_grids(as_page(scanned, 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def test_streaks_from_inside_the_table_down_to_the_foot_of_a_straight_page_are_not_columns():
    """Streaks that start inside the table (where a seal hid their top) and run on to the foot of
    a page scanned straight: neither margin-to-margin nor slanted, but they run on alone, far past
    the table, where its own rulings stop. Two cut `6.50` into `6.5` and `0`."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    # The table ends some 3 in above the foot of the page.
    image = np.vstack([rendered.image, np.full((600, *rendered.image.shape[1:]), 255, np.uint8)])
    y0 = round(rendered.row_y[20])
    for col in (5, 6):
        x = round((rendered.col_x[col] + rendered.col_x[col + 1]) / 2) + 3
        image[y0:, x : x + 2] = 70
    grids = detect_grids(as_page(degrade(image, 200, jpeg=70, noise=3), 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


@pytest.mark.parametrize("skew", [1.1, -0.8])
def test_a_faint_streak_on_a_skewed_scan_is_not_a_column(skew):
    """The scanner draws its streak straight down the scan; the page lies skewed under it. After
    deskewing, the streak is the one slanted line among upright rulings, and a faint one is seen in
    pieces, not from margin to margin — it cut a 年度指标值 cell in two through its decimal point."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    page = degrade(rendered.image, 200, skew_deg=skew)
    x = round((rendered.col_x[3] + rendered.col_x[4]) / 2) + 7
    page[:, x : x + 1] = (page[:, x : x + 1] * 0.8).astype(np.uint8)  # faint: a fifth darker than the paper
    y = round(page.shape[0] * 0.93)  # and one across the foot of the page, below the table
    page[y : y + 1, :] = (page[y : y + 1, :] * 0.8).astype(np.uint8)
    scanned = degrade(page, 200, jpeg=70, noise=3)
    grids = detect_grids(as_page(scanned, 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def test_a_faded_column_ruling_is_put_back_where_the_text_parts():
    """The 分值 | 得分 ruling faded away on three indicator rows (and the 年度指标值 | 实际完成值 one on
    two): `7.50` `7.50` became one cell read `7.507.50`. Both texts stand well apart from the line
    and nothing crosses it, while the same line is ruled on the table's other rows: two cells."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    first = 10  # the first indicator row (see project_form)
    for col, rows in ((6, (first, first + 1, first + 3)), (4, (first + 2, first + 4))):
        x = round(rendered.col_x[col])
        for r in rows:
            y0, y1 = round(rendered.row_y[r]) + 3, round(rendered.row_y[r + 1]) - 3
            image[y0:y1, x - 3 : x + 4] = 255
    grids = detect_grids(as_page(degrade(image, 200, jpeg=80, noise=2), 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def _grey_seal(image: np.ndarray, cx: float, cy: float, px: float, grey: int) -> np.ndarray:
    """A seal as a greyscale scan sees it: ring, star and characters in mid-grey over the page."""
    layer = Image.new("L", (image.shape[1], image.shape[0]), 255)
    draw = ImageDraw.Draw(layer)
    r = 20 * px
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=grey, width=max(2, round(1.2 * px)))
    star = [(cx + (r * 0.3 if k % 2 == 0 else r * 0.12) * math.sin(k * math.pi / 5),
             cy - (r * 0.3 if k % 2 == 0 else r * 0.12) * math.cos(k * math.pi / 5)) for k in range(10)]
    draw.polygon(star, fill=grey)
    fnt = ImageFont.truetype(str(FONTS["hei"]), round(4 * px))
    for k, ch in enumerate("上海市某某区某某街道办事处"):
        a = math.radians(-150 + k * 25)
        draw.text((cx + 0.72 * r * math.cos(a) - 2 * px, cy + 0.72 * r * math.sin(a) - 2 * px), ch, font=fnt, fill=grey)
    sealed = image.astype(np.float32) * (np.asarray(layer, dtype=np.float32) / 255.0)[:, :, None]
    return cv2.cvtColor(cv2.cvtColor(sealed.astype(np.uint8), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("dpi", [200, 300])
def test_a_grey_seal_over_the_last_rows_is_faded_not_read_as_rulings_or_text(dpi):
    """On a greyscale scan the seal is mid-grey, not red: its star lay over the ruling above the 总分
    row (the two rows became one cell, read `城市9.19`) and its ring's characters were read with the
    digits. Found by its ring, it is faded; the text under it keeps its ink."""
    from pipeline.scan.grid import ink_image

    spec = project_form()
    rendered = render_form(spec, dpi=dpi)
    px = dpi / MM_PER_IN
    # The star on the ruling between the last indicator row and the 总分 row, as stamped in 得分.
    cx, cy = (rendered.col_x[6] + rendered.col_x[7]) / 2, rendered.row_y[-2]
    sealed = degrade(_grey_seal(rendered.image, cx, cy, px, grey=150), dpi, jpeg=60, noise=3)
    cfg = GridConfig()
    grids = detect_grids(as_page(sealed, dpi), cfg).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)
    # Inside the seal's circle: ink only at the clean page's text and rulings (the ring, the star and
    # the characters are gone; what touches a stroke stays with it), and that text is all there.
    r = round(18 * px)
    y0, y1, x0, x1 = round(cy - r), round(cy + r), round(cx - r), round(cx + r)
    clean = ink_image(degrade(cv2.cvtColor(cv2.cvtColor(rendered.image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
                              dpi, jpeg=60, noise=3), dpi, cfg)[y0:y1, x0:x1] > cfg.ink_threshold
    faded = ink_image(sealed, dpi, cfg)[y0:y1, x0:x1] > cfg.ink_threshold
    k = round(0.03 * dpi)
    near_clean = cv2.dilate(clean.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    assert (faded & ~near_clean).sum() < 0.02 * faded.sum()
    assert (clean & faded).sum() > 0.8 * clean.sum()


def test_a_page_without_a_seal_is_left_as_it_is():
    """A greyscale page of text and rulings has no ring of grey ink: nothing is faded."""
    from pipeline.scan.seal import find_seal

    rendered = render_form(project_form(), dpi=200)
    grey = cv2.cvtColor(cv2.cvtColor(degrade(rendered.image, 200, jpeg=60, noise=3, uneven=True), cv2.COLOR_BGR2GRAY),
                        cv2.COLOR_GRAY2BGR)
    from pipeline.scan.grid import ink_image

    cfg = GridConfig()
    assert find_seal(ink_image(grey, 200, cfg), 200, cfg) is None


def test_a_digit_standing_on_a_grid_line_in_two_rows_does_not_cut_their_cells():
    """The `1` of `1,774.65` stood on a grid line ruled elsewhere in the table, in the middle of its
    row, and the amount below it had its `1` there too: each row's stretch of the line was more than
    half inked, each beside the other, and both amounts were cut in two (`,774.65`). A ruling seen
    in part still runs into a corner of its stretch; a glyph stroke in the middle of a row does not."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    x = round(rendered.col_x[8])  # ruled in the funding block; the 偏差原因 cells below are merged across it
    for r in (15, 16):  # two one-line indicator rows without a reason
        top, bottom = rendered.row_y[r], rendered.row_y[r + 1]
        middle = (top + bottom) / 2 + 0.03 * (bottom - top)  # a digit sits a little low in its row
        half = 0.22 * (bottom - top)  # in a tight row, a 12-pt digit is half its height
        image[round(middle - half) : round(middle + half), x - 1 : x + 2] = 0
    grids = detect_grids(as_page(degrade(image, 200, jpeg=80, noise=2), 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def test_a_glyph_standing_on_a_column_line_does_not_cut_a_header_value():
    """A header value crosses the column lines of the money block below it. Where a glyph's stem
    stands right on one (the 朱 of `…朱家角镇人民政府` at 150 dpi), it is ruled over most of the row,
    and was taken for a ruling: the value was read as `上海市青浦区` and `未家角镇人民政府`. A glyph
    leaves the cell's padding unruled at both ends and has strokes joining it from the side."""
    spec = project_form()
    dpi = 150
    rendered = render_form(spec, dpi=dpi)
    image = rendered.image.copy()
    x = round(rendered.col_x[4])  # runs through the 项目名称 value (row 0, columns 2–8)
    y0, y1 = rendered.row_y[0], rendered.row_y[1]
    top, bottom = round(y0 + 0.22 * (y1 - y0)), round(y1 - 0.22 * (y1 - y0))
    image[top:bottom, x - 1 : x + 1] = 0  # a 十 on the line: its stem…
    mid = (top + bottom) // 2
    image[mid - 1 : mid + 1, x - 8 : x + 9] = 0  # …and its bar
    grids = detect_grids(as_page(degrade(image, dpi, jpeg=80, noise=2), dpi), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)



@pytest.mark.parametrize("seed", [2, 3])
def test_a_photo_at_a_slant_is_flattened_by_its_tables_frame(seed):
    """A phone photo shows the table as a quadrilateral: its rulings fan out, and no rotation lines
    up both its top and its bottom (d02's money block and indicator table needed different turns).
    The frame made a rectangle, every cell is found; a skewed scan's frame is left alone."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    photo = degrade(rendered.image, 200, perspective=0.06, jpeg=60, noise=4, uneven=True, seed=seed)
    detected = detect_grids(as_page(photo, 200), GridConfig())
    assert detected.flatten is not None
    assert len(detected.grids) == 1 and structure(detected.grids[0]) == expected_structure(spec)
    scan = detect_grids(as_page(degrade(rendered.image, 200, skew_deg=2.0, jpeg=60), 200), GridConfig())
    assert scan.flatten is None


def test_a_streak_beside_a_column_ruling_does_not_cut_a_sliver_off_its_cells():
    """A streak drawn on the page (upright like the rulings, so its slope does not give it away) ran
    a fifth of an inch right of the 年度指标值 ruling and was dark enough on four rows to be taken
    for their edge: a sliver column took the `=` of `=100.00(%)`. No column of the forms is that
    narrow: on a row with two edges so close, the one less ruled there is not an edge."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    x = round(rendered.col_x[3] + 0.18 * 200)
    y0, y1 = round(rendered.row_y[12]), round(rendered.row_y[16])
    image[y0:y1, x : x + 2] = (image[y0:y1, x : x + 2] * 0.5).astype(np.uint8)  # seen over four rows
    grids = detect_grids(as_page(degrade(image, 200, jpeg=70, noise=3), 200), GridConfig()).grids
    # The streak may stay a grid line (edgeless); no cell is cut by it.
    assert len(grids) == 1 and len(grids[0].cells) == len(spec.cells)
    assert min(c.bbox.x1 - c.bbox.x0 for c in grids[0].cells) > 0.25 * 200


def test_a_faded_row_ruling_is_put_back_where_the_text_parts():
    """The ruling under 财政拨款's amounts faded across the money block's amount columns: each column's
    two amounts became one cell (`2,125,159.56` over `73,925.23`), read as one value. The line is
    ruled under the label and the other columns, and in every amount column one amount stands well
    above it and one well below: two cells, as for a faded column ruling."""
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    image = rendered.image.copy()
    y = round(rendered.row_y[5])  # between 当年财政拨款 and 上年结转资金
    x0, x1 = round(rendered.col_x[3]) + 3, round(rendered.col_x[6]) - 3  # 年初预算数 … 全年执行数
    image[y - 3 : y + 4, x0:x1] = 255
    grids = detect_grids(as_page(degrade(image, 200, jpeg=80, noise=2), 200), GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)
