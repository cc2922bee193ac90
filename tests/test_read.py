"""Reading cells: crops inside rulings, empty cells skipped, wrapped cells split into lines, and
the real recognizer end to end on a rendered, scanned form."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from test_grid import as_page, degrade, project_form, render_form

from pipeline.config import GridConfig, OcrConfig, ReadConfig
from pipeline.ocr import LineResult, get_engine
from pipeline.scan.grid import detect_grids, ink_image
from pipeline.scan.read import cell_lines, fill_cells, page_lines, text_ink
from pipeline.types import BBox, Cell, PageImage, TableGrid

NUMERIC = set("0123456789.%")
FONT = Path("/usr/share/fonts/truetype/arphic/uming.ttc")


def read_grids(page: PageImage, grids: list[TableGrid], engine, ink: np.ndarray | None = None) -> list[TableGrid]:
    """The scan route's reading of one page's grids: lines cut, one engine call, cells filled."""
    ink = ink_image(page.image, page.dpi, GridConfig()) if ink is None else ink
    lines = page_lines(page, ink, grids, ReadConfig(), GridConfig().ink_threshold)
    return fill_cells(grids, lines, engine.recognize(lines.crops) if lines.crops else [], engine.name)


def fold(text: str) -> str:
    """What the comparison ignores: full/half width and layout whitespace (line breaks too)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class RecordingEngine:
    """Stands in for an engine: remembers the crops it was given, answers by crop height."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[list[np.ndarray]] = []

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        self.calls.append(crops)
        return [LineResult(f"h{c.shape[0]}", 0.9 - 0.1 * i, (f"alt{i}",)) for i, c in enumerate(crops)]

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        return []


def write(page: np.ndarray, text: str, x: int, y: int, px: int = 26) -> None:
    image = Image.fromarray(page)
    ImageDraw.Draw(image).text((x, y), text, font=ImageFont.truetype(str(FONT), px), fill=(0, 0, 0))
    page[:] = np.array(image)


def boxed_page(texts_per_cell: list[list[str]]) -> tuple[np.ndarray, TableGrid]:
    """A one-row ruled table; each cell holds the given text lines."""
    page = np.full((300, 200 + 300 * len(texts_per_cell), 3), 255, np.uint8)
    cells = []
    for i, lines in enumerate(texts_per_cell):
        x0, x1 = 100 + 300 * i, 400 + 300 * i
        cv2.rectangle(page, (x0, 50), (x1, 250), (0, 0, 0), 2)
        for j, text in enumerate(lines):
            write(page, text, x0 + 30, 90 + 45 * j)
        cells.append(Cell(page=1, row=0, col=i, bbox=BBox(x0, 50, x1 + 1, 251), confidence=0.0, engine=""))
    return page, TableGrid(page=1, n_rows=1, n_cols=len(cells), cells=tuple(cells))


def test_lines_inside_cells_one_call_empty_cells_skipped():
    page, grid = boxed_page([["社区党校"], [], ["两新党组织书记", "补贴标准"]])
    engine = RecordingEngine()
    out = read_grids(as_page(page, 200), [grid], engine)[0]
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 3  # all lines of the page in one call
    first, empty, wrapped = out.cells
    assert empty.text == "" and empty.confidence == 1.0 and empty.engine == "recording"
    assert first.text.startswith("h") and "\n" not in first.text
    assert wrapped.text.count("\n") == 1  # two lines, joined with a line break
    assert wrapped.confidence == pytest.approx(min(0.9 - 0.1 * i for i in (1, 2)))
    assert wrapped.alternatives and all("\n" in a for a in wrapped.alternatives)
    assert [c.bbox for c in out.cells] == [c.bbox for c in grid.cells]
    for crop in engine.calls[0]:
        assert crop.shape[0] < 45  # one line each, rulings not included
        assert crop[0].min() > 200 and crop[-1].min() > 200  # paper above and below the text


def _lines(page: np.ndarray, bbox: BBox) -> list:
    cfg = ReadConfig()
    threshold = GridConfig().ink_threshold
    binary = text_ink(ink_image(page, 200, GridConfig()), 200, cfg, threshold) > threshold
    return cell_lines(binary, 0, 0, bbox, 200, cfg)


def test_ruling_inside_the_box_is_not_a_line():
    page = np.full((300, 500, 3), 255, np.uint8)
    cv2.rectangle(page, (100, 50), (400, 250), (0, 0, 0), 3)
    cv2.line(page, (100, 60), (400, 66), (0, 0, 0), 2)  # a slanted, doubled ruling near the top
    write(page, "党群服务站", 150, 140)
    lines = _lines(page, BBox(100, 50, 401, 251))
    assert len(lines) == 1 and lines[0].box.y0 > 120


def test_a_slanted_ruling_down_a_tall_cell_does_not_join_its_lines():
    """A photo's ruling runs at a slant, so the straight-stroke mask leaves it in the cell; it
    joined 投入管理 / 指标 into one 200-px line the recognizer read as nothing."""
    page = np.full((400, 500, 3), 255, np.uint8)
    cv2.rectangle(page, (100, 50), (400, 350), (0, 0, 0), 2)
    cv2.line(page, (108, 56), (140, 344), (0, 0, 0), 2)  # slanted ~6°, inside the box
    write(page, "投入管理", 170, 150)
    write(page, "指标", 170, 210)
    lines = _lines(page, BBox(100, 50, 401, 351))
    assert len(lines) == 2 and all(line.box.height < 60 for line in lines)


def test_a_line_of_glyphs_run_together_is_text_not_a_ruling():
    page = np.full((300, 600, 3), 255, np.uint8)
    cv2.rectangle(page, (50, 50), (550, 250), (0, 0, 0), 2)
    zigzag = np.array([(100 + 6 * k, 140 if k % 2 else 160) for k in range(60)], np.int32)
    cv2.polylines(page, [zigzag], False, (0, 0, 0), 4)  # long and run together, but dense: blurred bold text
    assert len(_lines(page, BBox(50, 50, 551, 251))) == 1


def test_strokes_of_one_line_stay_one_line():
    page = np.full((300, 500, 3), 255, np.uint8)
    cv2.rectangle(page, (100, 50), (400, 250), (0, 0, 0), 2)
    write(page, "二", 150, 130)  # two strokes with blank rows between
    assert len(_lines(page, BBox(100, 50, 401, 251))) == 1
    write(page, "三", 150, 175)
    assert len(_lines(page, BBox(100, 50, 401, 251))) == 2


@pytest.mark.slow
def test_rapidocr_reads_a_scanned_form_end_to_end():
    spec = project_form()
    rendered = render_form(spec, dpi=200)
    scan = degrade(rendered.image, 200, skew_deg=1.0, jpeg=60, noise=3)
    detected = detect_grids(as_page(scan, 200), GridConfig())
    engine = get_engine("rapidocr", OcrConfig(threads=1))
    grid = read_grids(detected.image, detected.grids[:1], engine, detected.ink)[0]
    truth = {(c.row, c.col): c.text for c in spec.cells}
    read = {(c.row, c.col): c for c in grid.cells}
    assert set(read) == set(truth)
    numbers = [k for k, t in truth.items() if t and set(t) <= NUMERIC]
    assert len(numbers) > 40
    assert [read[k].text for k in numbers] == [truth[k] for k in numbers]
    right = sum(fold(read[k].text) == fold(t) for k, t in truth.items())
    # Misses allowed: 一 for the dash "—" in score cells (only context tells them apart).
    dashes = sum(t == "—" for t in truth.values())
    assert right >= len(truth) - dashes - 2
    assert all(c.engine == "rapidocr" and 0 <= c.confidence <= 1 for c in grid.cells)
    assert read[(9, 2)].text == "三级指标" and read[(0, 0)].text == "项目名称"



@pytest.mark.slow
def test_paddleocr_reads_a_scanned_page_end_to_end(tmp_path):
    spec = project_form(4)
    rendered = render_form(spec, dpi=200)
    scan = degrade(rendered.image, 200, skew_deg=-0.8, jpeg=70)
    detected = detect_grids(as_page(scan, 200), GridConfig())
    engine = get_engine("paddleocr", OcrConfig(threads=1, paddleocr={"cache_dir": str(tmp_path)}))
    grid = read_grids(detected.image, detected.grids[:1], engine, detected.ink)[0]
    truth = {(c.row, c.col): c.text for c in spec.cells}
    read = {(c.row, c.col): c.text for c in grid.cells}
    numbers = [k for k, t in truth.items() if t and set(t) <= NUMERIC]
    assert [read[k] for k in numbers] == [truth[k] for k in numbers]
    dashes = sum(t == "—" for t in truth.values())
    assert sum(fold(read[k]) == fold(t) for k, t in truth.items()) >= len(truth) - dashes - 2

# --- fixture benchmark (run on request) ------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _number_fold(text: str) -> str:
    """A printed figure as the truth records it: no thousands commas, no trailing %."""
    folded = fold(text).replace("“", '"').replace("”", '"')
    if re.fullmatch(r"[\d,]+(\.\d+)?%?", folded):
        folded = folded.replace(",", "").removesuffix("%")
    return folded


def truth_values(truth: dict, repeat_labels: bool) -> tuple[list[str], list[str]]:
    """(numbers, texts) a scan of the document must yield, one entry per printed cell.

    Merged 一级/二级/权重 cells are counted once per block, and again on a following page only
    where the form repeats its labels after a page break (`repeat_labels`).
    """
    numbers = [v for line in truth["funding"] for k, v in line.items()
               if k in {"initial_budget", "budget", "executed", "execution_rate", "max_score", "score"} and v]
    numbers += [v for v in (truth["totals"]["max_score"], truth["totals"]["score"]) if v]
    texts = [v for k, v in truth["header"].items() if k in {"unit_name", "project_name", "supervising_dept"} and v]
    previous: dict[str, tuple] = {}
    for row in truth["indicators"]:
        for key in ("level1", "level2", "level1_weight"):
            value, last = row[key], previous.get(key)
            new_block = last is None or last[1] != value
            if value and (new_block or (repeat_labels and last[0] != row["page"])):
                (numbers if key == "level1_weight" else texts).append(value)
            previous[key] = (row["page"], value)
        texts += [row[k] for k in ("level3", "target", "actual", "deviation_reason") if row[k]]
        numbers += [row[k] for k in ("max_score", "score") if row[k]]
    return numbers, texts


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (tesseract runs as a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.mark.skipif(not os.environ.get("PERFSCAN_SCAN_BENCH"), reason="set PERFSCAN_SCAN_BENCH=<engine> to run")
def test_fixture_scan_accuracy_and_speed():
    """Cell reading of every scanned fixture against its truth, for one engine; prints a summary.

    PERFSCAN_SCAN_BENCH=rapidocr .venv/bin/python -m pytest tests/test_read.py -k fixture -s

    A truth value counts as read when some cell of its document reads exactly that after folding
    full/half width, whitespace and curly quotes (and, for numbers, thousands commas and a
    trailing %): the raw reading, before any post-correction.
    """
    import resource
    import time

    from pipeline.config import ImagingConfig
    from pipeline.ingest.imaging import open_document

    engine_name = os.environ["PERFSCAN_SCAN_BENCH"]
    engine = get_engine(engine_name, OcrConfig())
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    names = [n for n, m in manifest.items() if m["kind"] != "born_digital" and m["form"] in {"project", "unit_overall"}]
    totals = {"numbers": [0, 0], "texts": [0, 0]}
    pages = wall = cpu = 0.0
    misses: list[str] = []
    for name in names:
        truth = json.loads((FIXTURES / "truth" / f"{name}.json").read_text(encoding="utf-8"))
        cells: Counter[str] = Counter()
        with open_document(FIXTURES / "docs" / f"{name}.pdf", ImagingConfig()) as doc:
            for info in doc.pages:
                t_wall, t_cpu = time.perf_counter(), _cpu_seconds()
                detected = detect_grids(doc.page_image(info.page), GridConfig())
                for grid in read_grids(detected.image, detected.grids, engine, detected.ink):
                    cells.update(_number_fold(c.text) for c in grid.cells)
                wall += time.perf_counter() - t_wall
                cpu += _cpu_seconds() - t_cpu
                pages += 1
        numbers, texts = truth_values(truth, manifest[name].get("continuation") == "repeat")
        for kind, values in (("numbers", numbers), ("texts", texts)):
            for value in values:
                key = _number_fold(value)
                totals[kind][1] += 1
                if cells[key] > 0:
                    cells[key] -= 1
                    totals[kind][0] += 1
                else:
                    misses.append(f"{name} {kind}: {value}")
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(f"\n{engine_name}: numbers {totals['numbers'][0]}/{totals['numbers'][1]} "
          f"({100 * totals['numbers'][0] / totals['numbers'][1]:.2f}%), texts {totals['texts'][0]}/{totals['texts'][1]} "
          f"({100 * totals['texts'][0] / totals['texts'][1]:.2f}%), {pages:.0f} pages, {wall / pages:.2f} s/page wall, "
          f"{cpu / pages:.2f} CPU s/page, peak RSS {rss:.0f} MB")
    print("\n".join(misses))


class _WidthSensitiveEngine:
    """Reads every line as `1.50`, unsure at its first width and sure once it is stretched wider —
    except lines wider than 200 px, which it reads differently the second time."""

    name = "fake"

    def __init__(self) -> None:
        self.first_widths: dict[int, int] = {}
        self.calls = 0

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        self.calls += 1
        if self.calls == 1:
            return [LineResult("1.50", 0.6) for _ in crops]
        return [LineResult("1.50" if c.shape[1] <= 270 else "1.30", 0.99) for c in crops]

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        return []


def test_a_doubtful_line_read_again_the_same_is_sure_and_one_read_otherwise_stays_doubtful():
    from pipeline.config import Config
    from pipeline.scan.page import prepare, read

    page = np.full((400, 700, 3), 255, np.uint8)
    for y in (50, 200, 350):
        cv2.line(page, (50, y), (650, y), (0, 0, 0), 2)
    for x in (50, 350, 650):
        cv2.line(page, (x, 50), (x, 350), (0, 0, 0), 2)
    write(page, "1.50", 100, 110)  # a short line
    write(page, "1.50 1.50 1.50 1.50", 60, 260)  # a wide one, read otherwise the second time
    grids = read(prepare(PageImage(page=1, image=page, dpi=200.0), Config()), _WidthSensitiveEngine())
    by_text = {c.text: c.confidence for g in grids for c in g.cells if c.text}
    short = [c for g in grids for c in g.cells if c.bbox is not None and c.bbox.y0 < 100 and c.text]
    wide = [c for g in grids for c in g.cells if c.bbox is not None and c.bbox.y0 > 150 and c.text]
    assert by_text and short and wide
    assert all(c.confidence == 0.99 for c in short)  # read the same twice: as sure as the surer reading
    assert all(c.text == "1.50" and c.confidence == 0.6 for c in wide)  # read otherwise: first reading, still doubtful


@pytest.mark.parametrize("faint", [False, True])
def test_a_cell_holding_only_a_dash_is_a_dash_and_a_line_of_digits_is_not(faint):
    """The forms write `—` in the funding block's 分值/得分 of the sub-lines; the recognizer read a
    lone dash as `1`, `m` or `900` (a number where the form has none). Known from its shape, it is
    not sent to the engine; on a faint scan the stroke comes in pieces. A line of digits is flat too,
    but taller than a stroke."""
    page = np.full((300, 1100, 3), 255, np.uint8)
    for x0 in (100, 500):
        cv2.rectangle(page, (x0, 50), (x0 + 300, 250), (0, 0, 0), 2)
    write(page, "—", 220, 135)
    write(page, "353.49", 560, 135)
    if faint:
        page[:, 230:1100:9] = 255  # the stroke (and the digits) broken every few pixels
    page = degrade(page, 200, jpeg=60, noise=3)
    dash, digits = _lines(page, BBox(100, 50, 401, 251)), _lines(page, BBox(500, 50, 801, 251))
    assert [line.dash for line in dash] == [True]
    assert digits and not any(line.dash for line in digits)
    engine = RecordingEngine()
    grid = TableGrid(page=1, n_rows=1, n_cols=2, cells=(
        Cell(page=1, row=0, col=0, bbox=BBox(100, 50, 401, 251), confidence=0.0, engine=""),
        Cell(page=1, row=0, col=1, bbox=BBox(500, 50, 801, 251), confidence=0.0, engine="")))
    from pipeline.scan.page import PreparedPage, read

    lines = page_lines(as_page(page, 200), ink_image(page, 200, GridConfig()), [grid], ReadConfig(),
                       GridConfig().ink_threshold)
    out = read(PreparedPage(as_page(page, 200), [grid], None, lines, b""), engine)[0]
    assert out.cells[0].text == "—" and out.cells[0].confidence == 1.0
    assert len(engine.calls[0]) == len(digits)  # only the digits went to the engine


def test_a_title_band_run_together_by_a_shadowed_page_edge_is_read_by_detection():
    """A page fed in at a slant leaves a dark, shadowed edge along its top and down its side: the
    ink profile of the band above the table then has no gap, the title, the year and the edge
    were one 2-inch crop, read `定`, and the form's year was lost. Text detection finds the lines."""
    from pipeline.config import Config
    from pipeline.scan.page import prepare, read

    rendered = render_form(project_form(), dpi=200)
    page = rendered.image.copy()
    h, w = page.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    # The shadow: dark at the top edge (slanting down) and the left side, fading over 0.3 in.
    depth = np.minimum(ys - (20 + xs * 0.03), xs - 30).astype(np.float32)
    shade = np.clip(80 + 175 * depth / 60, 80, 255)[..., None]
    page = np.minimum(page, shade).astype(np.uint8)
    prepared = prepare(PageImage(page=1, image=degrade(page, 200, jpeg=80, noise=2), dpi=200.0), Config())
    assert prepared.band_by_detection
    head = read(prepared, get_engine("rapidocr", OcrConfig(threads=1)))[0]
    texts = [fold(c.text) for c in head.cells]
    assert any("项目支出绩效自评表" in t for t in texts) and any("2023年度" in t for t in texts)
