"""Tesseract 5 (Debian package, `chi_sim` tessdata_fast) as a baseline engine.

Whole-page Tesseract fails on these ruled tables (rulings break its layout analysis), so it
gets the reader's line crops like the other engines. One `tesseract` run per crop would spend
most of its time loading the model, so the crops are stacked into one tall image (one line each,
normalised to a common height, blank space between) and read in one run as a uniform block
(`--psm 6`); the TSV output's word boxes are assigned back to the crop they fall in.

The program runs with an argument list, a timeout and `OMP_THREAD_LIMIT=1` (its OpenMP threads
otherwise fight the other workers); a failure becomes `ExternalToolError` with stderr's tail.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import cv2
import numpy as np

from ..config import OcrConfig
from ..errors import ExternalToolError, ModelIntegrityError
from ..types import BBox
from .base import LineResult, as_bgr, sort_boxes
from .models import verified_model_path

_LINE_HEIGHT = 40  # px per stacked line: Tesseract's LSTM reads best at a 30–40 px text height
_GAP = 24  # blank px between stacked lines
_MARGIN = 16
_MAX_LINES = 80  # crops per tesseract run (keeps one image and one timeout reasonable)


class TesseractEngine:
    name = "tesseract"

    def __init__(self, cfg: OcrConfig):
        self.options = cfg.tesseract
        exe = shutil.which("tesseract")
        if exe is None:
            raise ModelIntegrityError("tesseract is not installed (Debian packages tesseract-ocr, tesseract-ocr-chi-sim)")
        self._exe = exe
        self._tessdata = str(verified_model_path("tesseract_chi_sim").parent)
        self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        results: list[LineResult] = []
        for start in range(0, len(crops), _MAX_LINES):
            results.extend(self._read_stack(crops[start : start + _MAX_LINES]))
        return results

    def _read_stack(self, crops: list[np.ndarray]) -> list[LineResult]:
        lines = [_normalised(c) for c in crops]
        width = max(line.shape[1] for line in lines) + 2 * _MARGIN
        height = len(lines) * (_LINE_HEIGHT + _GAP) + 2 * _MARGIN
        sheet = np.full((height, width), 255, dtype=np.uint8)
        tops = []
        for i, line in enumerate(lines):
            top = _MARGIN + i * (_LINE_HEIGHT + _GAP)
            sheet[top : top + _LINE_HEIGHT, _MARGIN : _MARGIN + line.shape[1]] = line
            tops.append(top)
        words: list[list[tuple[int, str, float]]] = [[] for _ in crops]
        for row in self._tsv(sheet, psm=6):
            centre = row["top"] + row["height"] / 2
            index = int((centre - _MARGIN + _GAP / 2) // (_LINE_HEIGHT + _GAP))
            if 0 <= index < len(crops):
                words[index].append((row["left"], row["text"], row["conf"]))
        out = []
        for found in words:
            found.sort()
            text = " ".join(t for _, t, _ in found)
            confidence = min((c for _, _, c in found), default=0.0)
            out.append(LineResult(text=text, confidence=round(confidence, 4)))
        return out

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        grey = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)
        boxes: dict[tuple[int, int, int], list[int]] = {}
        # Lines as the union of their recognised words: Tesseract's own line rows include
        # fragments of strokes it took for graphics.
        for row in self._tsv(grey, psm=11):
            key = (row["block"], row["par"], row["line"])
            x0, y0 = row["left"], row["top"]
            x1, y1 = x0 + row["width"], y0 + row["height"]
            b = boxes.setdefault(key, [x0, y0, x1, y1])
            b[:] = [min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)]
        return _join_rows(sort_boxes([BBox(*b) for b in boxes.values()]))

    def _tsv(self, grey: np.ndarray, psm: int) -> list[dict]:
        """Run tesseract on one image; the words of its TSV output, with boxes and confidence."""
        ok, png = cv2.imencode(".png", grey)
        if not ok:
            raise ExternalToolError("tesseract: could not encode the image")
        args = [self._exe, "stdin", "stdout", "--tessdata-dir", self._tessdata, "-l", "chi_sim",
                "--psm", str(psm), "tsv"]
        try:
            done = subprocess.run(args, input=png.tobytes(), capture_output=True, timeout=self.options.timeout,
                                  env=self._env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ExternalToolError(f"tesseract took longer than {self.options.timeout:.0f} s") from exc
        except OSError as exc:
            raise ExternalToolError(f"tesseract could not run ({exc})") from exc
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-500:]
            raise ExternalToolError(f"tesseract failed (exit {done.returncode}): {tail}")
        rows = []
        reader = csv.DictReader(io.StringIO(done.stdout.decode("utf-8", "replace")), delimiter="\t",
                                quoting=csv.QUOTE_NONE)
        for r in reader:
            text = (r.get("text") or "").strip()
            if r.get("level") != "5" or not text:
                continue
            rows.append({
                "block": int(r["block_num"]), "par": int(r["par_num"]), "line": int(r["line_num"]),
                "left": int(r["left"]), "top": int(r["top"]), "width": int(r["width"]),
                "height": int(r["height"]), "conf": max(0.0, float(r["conf"])) / 100.0, "text": text,
            })
        return rows


def _join_rows(boxes: list[BBox]) -> list[BBox]:
    """Sparse-text mode reports words; words side by side on one row, close together, are a line."""
    lines: list[BBox] = []
    for box in boxes:
        if lines:
            last = lines[-1]
            overlap = min(last.y1, box.y1) - max(last.y0, box.y0)
            height = max(last.height, box.height)
            if overlap > 0.5 * min(last.height, box.height) and 0 <= box.x0 - last.x1 < 2 * height:
                lines[-1] = BBox(last.x0, min(last.y0, box.y0), box.x1, max(last.y1, box.y1))
                continue
        lines.append(box)
    return lines


def _normalised(crop: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(as_bgr(crop), cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    scale = _LINE_HEIGHT / max(h, 1)
    return cv2.resize(grey, (max(1, round(w * scale)), _LINE_HEIGHT), interpolation=cv2.INTER_CUBIC)
