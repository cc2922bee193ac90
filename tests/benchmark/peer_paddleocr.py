"""Peer: PaddleOCR 3.x full-page OCR (onnxruntime engine, PP-OCRv6 small), boxes grouped into rows.

No Chinese PP-OCR weights exist in Paddle's own format on a package registry, and PaddleOCR
without local model folders tries four model hosts and fails. So the folders are built here
from the ONNX files in the rapidocr wheel (the same weights perfscan uses): `inference.onnx`
plus an `inference.yml` whose metadata paddlex itself builds for the model name; the
recognizer's character list comes from the ONNX metadata, because paddlex's own v6 dictionary
file is missing from its wheel.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import yaml

from .bundled import rapidocr_model
from .corpus import PageRef, render
from .tokens import Row, Token, rows_from_boxes

DET, REC = "PP-OCRv6_small_det", "PP-OCRv6_small_rec"
_ONNX = {DET: "PP-OCRv6_det_small.onnx", REC: "PP-OCRv6_rec_small.onnx"}


def build_model_dir(root: Path, model_name: str) -> Path:
    """A PaddleOCR model folder for `model_name` made from rapidocr's bundled ONNX file."""
    from paddlex.modules.base.utils.pdparams2safetensors.inference_meta import build_inference_meta

    source = rapidocr_model(_ONNX[model_name])
    folder = root / model_name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / "inference.onnx")
    meta = {"Global": {"model_name": model_name}, **build_inference_meta(model_name)}
    if model_name == REC:
        session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
        characters = session.get_modelmeta().custom_metadata_map["character"].splitlines()
        meta.setdefault("PostProcess", {})["character_dict"] = characters
    (folder / "inference.yml").write_text(yaml.dump(meta, allow_unicode=True), "utf-8")
    return folder


class PaddleOcrPeer:
    name = "paddleocr"
    label = "PaddleOCR 3.x full page (PP-OCRv6 small, onnxruntime), rows by y"
    structured = False

    def __init__(self, threads: int, warm_up: np.ndarray):
        os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
        from paddleocr import PaddleOCR

        self._models = tempfile.TemporaryDirectory(prefix="bench-paddle-")
        root = Path(self._models.name)
        self._ocr = PaddleOCR(
            engine="onnxruntime",
            engine_config={"intra_op_num_threads": threads, "inter_op_num_threads": 1},
            text_detection_model_dir=str(build_model_dir(root, DET)),
            text_recognition_model_dir=str(build_model_dir(root, REC)),
            text_detection_model_name=DET,
            text_recognition_model_name=REC,
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
