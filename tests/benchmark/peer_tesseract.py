"""Peer: Tesseract 5 `chi_sim` (Debian) on the whole page; rows are its TSV text lines, tokens its words.

Run as the `tesseract` program with an argument list and a timeout. OMP_THREAD_LIMIT=1:
Tesseract's OpenMP threads only slow it down on a small machine (and it would otherwise claim
cores that the timing of the others assumes are free).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .corpus import PageRef, render
from .tokens import Row, Token

_TIMEOUT_S = 300


def tsv_rows(tsv: str) -> list[Row]:
    """Tesseract's own text lines (block, paragraph, line) as rows of its words, top to bottom."""
    lines: dict[tuple[str, str, str], Row] = {}
    for word in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (word.get("text") or "").strip()
        if word.get("level") == "5" and text:
            x0, y0 = int(word["left"]), int(word["top"])
            token = Token(text, x0, y0, x0 + int(word["width"]), y0 + int(word["height"]))
            lines.setdefault((word["block_num"], word["par_num"], word["line_num"]), []).append(token)
    rows = [sorted(row, key=lambda t: t.x0) for row in lines.values()]
    return sorted(rows, key=lambda row: sum(t.cy for t in row) / len(row))


class TesseractPeer:
    name = "tesseract"
    label = "Tesseract 5 chi_sim, whole page, rows from TSV lines"
    structured = False

    def __init__(self, threads: int, warm_up: np.ndarray):
        del threads  # one thread: see the module docstring
        exe = shutil.which("tesseract")
        if exe is None:
            raise FileNotFoundError("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-chi-sim)")
        self._exe = exe
        self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        self._dir = tempfile.TemporaryDirectory(prefix="bench-tesseract-")
        self._read_image(warm_up, 200)

    def read(self, page: PageRef) -> list[Row]:
        return self._read_image(render(page), page.dpi)

    def _read_image(self, image: np.ndarray, dpi: int) -> list[Row]:
        path = Path(self._dir.name) / "page.png"
        cv2.imwrite(str(path), image)
        done = subprocess.run(
            [self._exe, str(path), "stdout", "-l", "chi_sim", "--dpi", str(dpi), "tsv"],
            capture_output=True, env=self._env, timeout=_TIMEOUT_S, check=True,
        )
        return tsv_rows(done.stdout.decode("utf-8", "replace"))
