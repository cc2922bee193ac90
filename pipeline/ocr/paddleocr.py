"""PaddleOCR 3.x on onnxruntime, offline, with the same PP-OCRv6 small weights as `rapidocr`.

No registry ships Chinese PP-OCR weights in Paddle's own format, and PaddleOCR without local
model folders tries four model hosts and fails. So the folders PaddleOCR wants (`inference.onnx`
+ `inference.yml`) are built once into a cache folder from the rapidocr wheel's verified ONNX
files: the yml is what paddlex's own weight converter writes (`build_inference_meta` for the
model name), with the recognizer's character dictionary taken from the ONNX metadata key
`character` (paddlex's bundled v6 dictionary file is missing from its wheel). A user with
paddlepaddle and their own Paddle model folders points `OcrConfig.model_dirs` (keys `det`,
`rec`) at them instead.

This engine runs PaddleOCR's own preprocessing and decoding on the same weights, so it is an
independent check on `rapidocr`'s; it gives no alternative readings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import yaml

from ..config import OcrConfig
from ..errors import ModelIntegrityError, UsageError
from ..types import BBox
from .base import LineResult, as_bgr, quad_to_bbox, session_threads, sort_boxes
from .models import load_manifest, verified_model_path

# Model name → manifest entry of its ONNX file.
MODELS = {"det": ("PP-OCRv6_small_det", "ppocrv6_det_small"), "rec": ("PP-OCRv6_small_rec", "ppocrv6_rec_small")}
# PaddleX otherwise checks model hosts for every model it creates.
os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perfscan" / "paddle-models"


def model_folder(kind: str, cache_dir: Path) -> tuple[str, Path]:
    """(model name, folder) for `kind` det or rec, building the folder if it is not there yet.

    The folder name carries the ONNX file's sha256, so a changed wheel gets a new folder; the
    folder is written under a temporary name and renamed, so a crash never leaves half of one.
    """
    model_name, entry = MODELS[kind]
    onnx_path = verified_model_path(entry)
    digest = load_manifest()[entry].sha256[:16]  # the file was just checked against it
    folder = cache_dir / f"{model_name}-{digest}"
    if (folder / "inference.yml").is_file() and (folder / "inference.onnx").is_file():
        return model_name, folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_name}-", dir=cache_dir))
    try:
        target = staging / "inference.onnx"
        try:
            target.symlink_to(onnx_path)
        except OSError:
            shutil.copyfile(onnx_path, target)
        (staging / "inference.yml").write_text(_inference_yml(model_name, onnx_path), encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / "inference.yml").is_file():  # lost a race to another worker: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model_name, folder


def _inference_yml(model_name: str, onnx_path: Path) -> str:
    from paddlex.modules.base.utils.pdparams2safetensors import build_inference_meta

    data: dict[str, Any] = {"Global": {"model_name": model_name}}
    data.update(build_inference_meta(model_name))
    if model_name.endswith("_rec"):
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        characters = session.get_modelmeta().custom_metadata_map.get("character")
        if not characters:
            raise ModelIntegrityError(f"{onnx_path} has no `character` metadata for PaddleOCR's dictionary")
        data.setdefault("PostProcess", {})["character_dict"] = characters.splitlines()
    return yaml.safe_dump(data, allow_unicode=True, default_flow_style=False)


def _user_folder(path: str) -> tuple[str, Path]:
    folder = Path(path)
    yml = folder / "inference.yml"
    try:
        name = yaml.safe_load(yml.read_text(encoding="utf-8"))["Global"]["model_name"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UsageError(f"ocr.model_dirs: {folder} is not a PaddleOCR model folder ({exc})") from exc
    return str(name), folder


class PaddleOcrEngine:
    """PaddleOCR's TextRecognition / TextDetection predictors on local model folders."""

    name = "paddleocr"

    def __init__(self, cfg: OcrConfig):
        from paddleocr import TextDetection, TextRecognition

        self.options = options = cfg.paddleocr
        threads = session_threads(cfg.threads)
        cache = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        folders = {}
        for kind in ("det", "rec"):
            user = options.model_dirs.get(kind)
            folders[kind] = _user_folder(user) if user else model_folder(kind, cache)
        # Built-in folders hold ONNX files: onnxruntime, no paddlepaddle. User folders may be
        # Paddle's own format: let PaddleOCR pick the engine it has.
        engine: dict[str, Any] = (
            {}
            if options.model_dirs
            else {
                "engine": "onnxruntime",
                "engine_config": {"intra_op_num_threads": threads, "inter_op_num_threads": 1},
            }
        )
        rec_name, rec_dir = folders["rec"]
        self._rec = TextRecognition(model_name=rec_name, model_dir=str(rec_dir), device="cpu", **engine)
        self._det_args = (folders["det"], engine, TextDetection)
        self._det: Any = None
        self.recognize([np.full((48, 160, 3), 255, dtype=np.uint8)])

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        if not crops:
            return []
        results = self._rec.predict([as_bgr(c) for c in crops], batch_size=self.options.rec_batch_size)
        return [LineResult(text=str(r["rec_text"]), confidence=round(float(r["rec_score"]), 4)) for r in results]

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        if self._det is None:
            (name, folder), engine, detection = self._det_args
            self._det = detection(model_name=name, model_dir=str(folder), device="cpu", **engine)
        result = self._det.predict(as_bgr(image))[0]
        polys = result["dt_polys"]
        if polys is None or len(polys) == 0:
            return []
        return sort_boxes([quad_to_bbox(np.asarray(p, dtype=np.float32), image.shape) for p in polys])
