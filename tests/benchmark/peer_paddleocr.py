"""Peer: PaddleOCR 3.x full-page OCR (onnxruntime engine, PP-OCRv6 small), boxes grouped into rows.

The model folders PaddleOCR needs offline are built by perfscan's own PaddleOCR engine module
(`pipeline.ocr.paddleocr.model_folder`: the rapidocr wheel's verified ONNX files plus the
`inference.yml` paddlex writes for the model name), into a temporary cache so that the
benchmark leaves nothing behind. What runs is PaddleOCR's whole pipeline — detection on the
page, its own preprocessing, recognition, decoding — as a user of PaddleOCR would run it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .corpus import PageRef, render
from .tokens import Row, Token, rows_from_boxes


class PaddleOcrPeer:
    name = "paddleocr"
    label = "PaddleOCR 3.x full page (PP-OCRv6 small, onnxruntime), rows by y"
    structured = False

    def __init__(self, threads: int, warm_up: np.ndarray):
        from paddleocr import PaddleOCR

        from pipeline.ocr.paddleocr import model_folder  # also turns off paddlex's model-host check

        self._cache = tempfile.TemporaryDirectory(prefix="bench-paddle-")
        det_name, det_dir = model_folder("det", Path(self._cache.name))
        rec_name, rec_dir = model_folder("rec", Path(self._cache.name))
        self._ocr = PaddleOCR(
            engine="onnxruntime",
            engine_config={"intra_op_num_threads": threads, "inter_op_num_threads": 1},
            text_detection_model_dir=str(det_dir),
            text_recognition_model_dir=str(rec_dir),
            text_detection_model_name=det_name,
            text_recognition_model_name=rec_name,
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
        )
        self._ocr.predict(warm_up)

    def read(self, page: PageRef) -> list[Row]:
        result = self._ocr.predict(render(page))[0]
        tokens = [Token(text, float(x0), float(y0), float(x1), float(y1))
                  for text, (x0, y0, x1, y1) in zip(result["rec_texts"], np.asarray(result["rec_boxes"]), strict=True)]
        return rows_from_boxes(tokens)
