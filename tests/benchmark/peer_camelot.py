"""Peer for born-digital PDFs: camelot lattice (vector rulings, text layer) — no OCR at all.

It reads the text layer and the vector rulings of the page (`engine="vector"`: these PDFs draw
their rulings as vectors); on a scanned page it finds nothing, so it is only compared on the
born-digital fixtures, against perfscan's own text route.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from .corpus import PageRef
from .tokens import Row, rows_from_cells


class CamelotPeer:
    name = "camelot"
    label = "camelot 2.0 lattice (text layer, born-digital only)"
    structured = True

    def __init__(self, threads: int, warm_up: np.ndarray):
        del threads, warm_up  # single-threaded; nothing to warm up but the import
        import camelot

        logging.getLogger("camelot").setLevel(logging.ERROR)
        self._camelot = camelot

    def read(self, page: PageRef) -> list[Row]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no tables found" on a page without rulings is an answer
            tables = self._camelot.read_pdf(str(page.path), pages=str(page.index + 1), flavor="lattice",
                                                engine="vector")
        rows: list[Row] = []
        for table in tables:
            cells = table.df.astype(str).values.tolist()
            rows += rows_from_cells(cells, first_row=len(rows))
        return rows
