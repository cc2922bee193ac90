"""PP-OCRv6 small (the ONNX files shipped in the rapidocr wheel), run on onnxruntime directly.

Why not `RapidOCR()(page)`: full-page detection + recognition costs several times the time and
memory (BENCHMARK.md, design measurements), and the table grid already says where the text is. So recognition runs the rec model
itself on the reader's text-line crops, batched by similar width (little padding), with the
same preprocessing as PaddleOCR (height 48, aspect kept, scaled to [-1, 1], right-padded).
Decoding here rather than in rapidocr gives the per-character probabilities, so a line's
confidence is its weakest character and runner-up readings become `alternatives`.

Cores are used across batches, not inside one: the session runs single-threaded and `threads`
batches run at once (onnxruntime releases the GIL). That is faster than intra-op threads (BENCHMARK.md):
a batch of short lines is too small a job to split well across threads, and decoding runs in
parallel too.

The detector (for `detect_lines`) goes through rapidocr's own pipeline with explicit model
paths; it is built on first use, since the grid-guided route does not need it.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort

from ..config import OcrConfig
from ..types import BBox
from .base import LineResult, as_bgr, quad_to_bbox, session_threads, sort_boxes
from .models import verified_model_path

_REC_HEIGHT = 48
_MIN_WH_RATIO = 1.0  # the narrowest padded line: 48 px (6 frames), room for the shortest cell text
_BATCH_WIDTH_PER_LINE = 320  # PaddleOCR's line width: a batch holds at most this much per line on average


def make_session(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Batches have varying widths; an arena sized for the widest batch would stay allocated.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning: on a shared machine spinning threads burn
    # the cores the other thread (and other workers) need (BENCHMARK.md, design measurements).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


class CtcDecoder:
    """Greedy CTC decoding with per-character probabilities and runner-up readings."""

    def __init__(self, characters: list[str], alt_min_prob: float, max_alternatives: int):
        # Index 0 is the CTC blank; the model's last class is a space (PaddleOCR's layout).
        self.characters = ["", *characters, " "]
        self.alt_min_prob = alt_min_prob
        self.max_alternatives = max_alternatives

    def _collapse(self, index: np.ndarray) -> str:
        keep = np.ones(len(index), dtype=bool)
        keep[1:] = index[1:] != index[:-1]
        keep &= index != 0
        return "".join(self.characters[i] for i in index[keep])

    def decode(self, probs: np.ndarray) -> LineResult:
        """`probs` is (frames, classes) softmax output for one line."""
        # Top two classes per frame by two argmax passes (a full sort of ~18,700 classes per
        # frame cost more than the recognizer itself).
        frames = np.arange(len(probs))
        best = probs.argmax(axis=1)
        p_best = probs[frames, best]
        masked = probs.copy()
        masked[frames, best] = -1.0
        second = masked.argmax(axis=1)
        p_second = probs[frames, second]
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        text = "".join(self.characters[i] for i in best[keep])
        confidence = float(p_best[keep].min()) if keep.any() else 0.0
        candidates: dict[str, float] = {}
        for t in np.flatnonzero(p_second >= self.alt_min_prob):
            changed = best.copy()
            changed[t] = second[t]
            alternative = self._collapse(changed)
            if alternative != text and alternative.strip():
                candidates[alternative] = max(candidates.get(alternative, 0.0), float(p_second[t]))
        ranked = sorted(candidates, key=lambda s: -candidates[s])[: self.max_alternatives]
        return LineResult(text=text, confidence=round(confidence, 4), alternatives=tuple(ranked))


def line_width(crop: np.ndarray, width_scale: float) -> int:
    """A crop's width once scaled to the recognizer's height 48 (and narrowed by `width_scale`)."""
    return max(1, math.ceil(_REC_HEIGHT * width_scale * crop.shape[1] / max(crop.shape[0], 1)))


def padded_width(width: int, step: float) -> int:
    """The width a line is padded to: the smallest of the widths 48 · step^k (multiples of 8)
    that holds it. Padding by a line's own width, never by its batch's widest, is what makes a
    line read the same whatever else is on the page: the recognizer's output does change with the
    padding (a `=100.00(%)` read as `=100.0(%)` next to wider lines)."""
    padded = float(_REC_HEIGHT * _MIN_WH_RATIO)
    while padded < width:
        padded *= step
    return int(math.ceil(padded / 8) * 8)


def rec_input(crops: list[np.ndarray], width_scale: float, width: int) -> np.ndarray:
    """PaddleOCR's rec preprocessing for one batch: height 48, aspect kept (narrowed by
    `width_scale` < 1: recognizer cost is linear in width), [-1, 1], zero-padded to `width`."""
    batch = np.zeros((len(crops), 3, _REC_HEIGHT, width), dtype=np.float32)
    for i, crop in enumerate(crops):
        w = min(width, line_width(crop, width_scale))
        resized = cv2.resize(crop, (w, _REC_HEIGHT)).astype(np.float32)
        batch[i, :, :, :w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return batch


def width_batches(widths: list[int], size: int) -> list[tuple[int, list[int]]]:
    """(padded width, crop indices) for one recognizer call each: crops of one padded width, at
    most `size` of them and at most `size` × 320 pixels wide in all. The recognizer's output is
    (lines × width/8 × 18,710 classes) floats, and its last layers hold three tensors that size:
    unbounded, a batch of 16 wide lines is 100 MB each, and two batches run at once."""
    by_width: dict[int, list[int]] = {}
    for i, w in enumerate(widths):
        by_width.setdefault(w, []).append(i)
    per_call = max(1, size) * _BATCH_WIDTH_PER_LINE
    batches: list[tuple[int, list[int]]] = []
    for w in sorted(by_width):
        n = max(1, min(size, per_call // w))
        members = by_width[w]
        batches.extend((w, members[k : k + n]) for k in range(0, len(members), n))
    return batches


class RapidOcrEngine:
    """PP-OCRv6 small rec (+ det on demand) from the rapidocr wheel, offline."""

    name = "rapidocr"

    def __init__(self, cfg: OcrConfig):
        self.options = cfg.rapidocr
        self.threads = session_threads(cfg.threads)
        self._rec_path = str(verified_model_path("ppocrv6_rec_small"))
        self._det_path = str(verified_model_path("ppocrv6_det_small"))
        self._rec = make_session(self._rec_path, 1)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="perfscan-rec") if self.threads > 1 else None
        self._rec_input = self._rec.get_inputs()[0].name
        characters = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        self._decoder = CtcDecoder(characters, self.options.alt_min_prob, self.options.max_alternatives)
        self._detector: Any = None
        # onnxruntime builds its kernels on the first run; pay that here, not on page one.
        self.recognize([np.full((_REC_HEIGHT, 160, 3), 255, dtype=np.uint8)])

    def recognize(self, crops: list[np.ndarray]) -> list[LineResult]:
        results: list[LineResult | None] = [None] * len(crops)
        ready = [as_bgr(c) for c in crops]

        def read(chunk: tuple[int, list[int]]) -> list[tuple[int, LineResult]]:
            width, members = chunk
            batch = rec_input([ready[i] for i in members], self.options.rec_width_scale, width)
            probs = self._rec.run(None, {self._rec_input: batch})[0]
            return [(i, self._decoder.decode(probs[row])) for row, i in enumerate(members)]

        widths = [padded_width(line_width(c, self.options.rec_width_scale), self.options.rec_width_step) for c in ready]
        # Widest batches first, so the last ones to finish are short and no core waits long.
        chunks = width_batches(widths, self.options.rec_batch_size)[::-1]
        for done in self._pool.map(read, chunks) if self._pool else map(read, chunks):
            for i, result in done:
                results[i] = result
        return [r if r is not None else LineResult("", 0.0) for r in results]

    def detect_lines(self, image: np.ndarray) -> list[BBox]:
        if self._detector is None:
            from rapidocr import RapidOCR

            self._detector = RapidOCR(
                params={
                    "Global.use_cls": False,
                    "Global.use_rec": False,
                    "Global.log_level": "error",
                    "Det.model_path": self._det_path,
                    # rapidocr's default (short side up to 736) blows a 300-px title band up to
                    # 4000×736; scan pages already have text at a size the detector reads.
                    "Det.limit_type": "min",
                    "Det.limit_side_len": 64,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
        output = self._detector(as_bgr(image), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(output, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        return sort_boxes([quad_to_bbox(q, image.shape) for q in np.asarray(boxes).reshape(-1, 4, 2)])
