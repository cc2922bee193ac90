"""OCR engines: registry, weight manifest, offline operation, reading rendered text lines."""

from __future__ import annotations

import copy as copy_module
import json
import shutil
import socket
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.config import OcrConfig, load_config
from pipeline.errors import ModelIntegrityError, UsageError
from pipeline.ocr import ENGINE_NAMES, LineResult, get_engine
from pipeline.ocr.base import sort_boxes
from pipeline.ocr.models import MANIFEST, load_manifest, verified_model_path
from pipeline.ocr.rapidocr import CtcDecoder, padded_width
from pipeline.types import BBox

FONT = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
LINES = ["年初预算数", "=100.00(%)", "459.80", "社区党校教学培训活动完成率", "≥90.00(%)", "≤350元/月", "0.5"]


def line_image(text: str, px: int = 26) -> np.ndarray:
    """One text line as a cell crop at ~200 dpi: black on white, a little paper around it."""
    font = ImageFont.truetype(str(FONT), px)
    width = int(font.getlength(text)) + 12
    image = Image.new("RGB", (width, px + 10), "white")
    ImageDraw.Draw(image).text((6, 4), text, font=font, fill="black")
    return np.array(image)[:, :, ::-1].copy()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: engines must run offline.

    A subclass, not a function, replaces `socket.socket`, because modules imported later (ssl)
    subclass it themselves.
    """

    class NoNetwork(socket.socket):
        def __init__(self, *args, **kwargs):
            raise AssertionError("network access attempted")

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", NoNetwork)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_lines_pad_to_fixed_width_classes_and_a_step_that_never_grows_is_refused():
    # A line's padding depends on its own width only, so it reads the same whatever its neighbours.
    assert padded_width(10, 1.04) == 48
    assert [padded_width(w, 1.04) for w in (49, 50, 51)] == [padded_width(49, 1.04)] * 3
    assert all(w <= padded_width(w, 1.04) < w * 1.04 + 8 for w in range(48, 3000, 7))
    with pytest.raises(UsageError, match="rec_width_step"):
        load_config(None, {"ocr": {"rapidocr": {"rec_width_step": 1.0}}})  # would pad forever


def test_unknown_engine_lists_the_names():
    with pytest.raises(UsageError) as info:
        get_engine("easyocr", OcrConfig())
    for name in ENGINE_NAMES:
        assert name in str(info.value)


def test_manifest_lists_every_weight_with_source_and_licence():
    entries = load_manifest()
    assert {"ppocrv6_det_small", "ppocrv6_rec_small", "tesseract_chi_sim"} <= set(entries)
    for entry in entries.values():
        assert len(entry.sha256) == 64 and entry.licence and entry.version
        assert verified_model_path(entry.name).is_file()


def test_altered_weight_file_is_refused(tmp_path):
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    rec = next(m for m in data["models"] if m["name"] == "ppocrv6_rec_small")
    rec["sha256"] = "0" * 64
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
        verified_model_path("ppocrv6_rec_small", manifest)


def test_missing_weight_file_is_refused(tmp_path):
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    rec = next(m for m in data["models"] if m["name"] == "ppocrv6_rec_small")
    rec["path"] = "models/not-there.onnx"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="missing"):
        verified_model_path("ppocrv6_rec_small", manifest)
    with pytest.raises(ModelIntegrityError, match="not listed"):
        verified_model_path("some_other_model", manifest)


def test_ctc_decoder_collapses_repeats_and_offers_runner_up():
    chars = ["1", ".", "0", "L"]  # classes: 0 blank, 1 '1', 2 '.', 3 '0', 4 'L', 5 ' '
    decoder = CtcDecoder(chars, alt_min_prob=0.1, max_alternatives=3)

    probs = np.zeros((6, 6))
    probs[0, [4, 1]] = 0.6, 0.4  # "L", runner-up "1"
    probs[1, 0] = 1.0  # blank
    probs[2, [3, 0]] = 0.98, 0.02  # "0" over two frames: one "0"
    probs[3, [3, 0]] = 0.97, 0.03
    probs[4, 0] = 1.0
    probs[5, [3, 0]] = 0.99, 0.01
    result = decoder.decode(probs)
    assert result.text == "L00"
    assert result.confidence == pytest.approx(0.6, abs=0.01)
    assert result.alternatives[0] == "100"


def test_reading_order_of_boxes():
    boxes = [BBox(300, 12, 400, 40), BBox(10, 10, 200, 42), BBox(10, 60, 200, 90)]
    assert sort_boxes(boxes) == [boxes[1], boxes[0], boxes[2]]


@pytest.mark.slow
def test_rapidocr_reads_rendered_lines_offline(no_network):
    engine = get_engine("rapidocr", OcrConfig(threads=1))
    assert engine.name == "rapidocr"
    results = engine.recognize([line_image(t) for t in LINES])
    assert [r.text for r in results] == LINES
    assert all(isinstance(r, LineResult) and 0.5 < r.confidence <= 1 for r in results)
    assert engine.recognize([]) == []


@pytest.mark.slow
def test_rapidocr_detects_lines(no_network):
    engine = get_engine("rapidocr", OcrConfig(threads=1))
    first, second = line_image("项目支出绩效自评表", 34), line_image("（2023年度）")
    page = np.full((200, 600, 3), 255, np.uint8)
    page[20 : 20 + first.shape[0], 100 : 100 + first.shape[1]] = first
    page[120 : 120 + second.shape[0], 40 : 40 + second.shape[1]] = second
    boxes = engine.detect_lines(page)
    assert len(boxes) == 2
    assert boxes[0].y1 < boxes[1].y0
    read = engine.recognize([page[b.y0 : b.y1, b.x0 : b.x1] for b in boxes])
    # The engine mixes full- and half-width brackets; folding them is post-correction's job.
    assert [unicodedata.normalize("NFKC", r.text) for r in read] == ["项目支出绩效自评表", "(2023年度)"]


def test_engines_are_built_once_per_config():
    cfg = OcrConfig(threads=1)
    assert get_engine("rapidocr", cfg) is get_engine("rapidocr", cfg)


def test_engine_with_tampered_weights_does_not_start(tmp_path, monkeypatch):
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    copy = tmp_path / "rapidocr"
    (copy / "models").mkdir(parents=True)
    for entry in data["models"]:
        if entry["source"]["package"] == "rapidocr":
            shutil.copyfile(verified_model_path(entry["name"]), copy / entry["path"])
    recognizer = copy / next(e["path"] for e in data["models"] if e["name"] == "ppocrv6_rec_small")
    recognizer.write_bytes(recognizer.read_bytes()[:-10])  # truncate the recognizer's weights
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name, *args):
        if name == "rapidocr":
            spec = copy_module.copy(real_find_spec(name))  # never touch the imported module's spec
            spec.submodule_search_locations = [str(copy)]
            return spec
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    from pipeline.ocr.rapidocr import RapidOcrEngine

    with pytest.raises(ModelIntegrityError):
        RapidOcrEngine(OcrConfig(threads=1))


@pytest.mark.slow
def test_paddleocr_builds_its_model_folders_and_reads_offline(tmp_path, no_network):
    cfg = OcrConfig(threads=1, paddleocr={"cache_dir": str(tmp_path / "cache")})
    engine = get_engine("paddleocr", cfg)
    folders = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert [f.rsplit("-", 1)[0] for f in folders] == ["PP-OCRv6_small_det", "PP-OCRv6_small_rec"]
    for folder in (tmp_path / "cache").iterdir():
        assert (folder / "inference.onnx").is_file() and (folder / "inference.yml").is_file()
    results = engine.recognize([line_image(t) for t in LINES])
    assert [r.text for r in results] == LINES
    assert engine.detect_lines(np.full((100, 300, 3), 255, np.uint8)) == []


def test_paddleocr_rejects_a_folder_that_is_not_a_model(tmp_path):
    from pipeline.ocr.paddleocr import _user_folder

    with pytest.raises(UsageError, match="not a PaddleOCR model folder"):
        _user_folder(str(tmp_path))


@pytest.mark.slow
def test_tesseract_reads_stacked_crops_back_to_their_lines(no_network):
    engine = get_engine("tesseract", OcrConfig())
    results = engine.recognize([line_image(t) for t in LINES])
    assert len(results) == len(LINES)
    # Raw Tesseract output: CJK comes back with spaces between words; ≥ ≤ are its weak spot.
    for text, result in zip(LINES, results, strict=True):
        if "≥" not in text and "≤" not in text:
            assert result.text.replace(" ", "") == text
    assert engine.recognize([]) == []


def test_tesseract_failure_carries_its_stderr(monkeypatch):
    from pipeline.errors import ExternalToolError
    from pipeline.ocr.tesseract import TesseractEngine

    engine = TesseractEngine(OcrConfig())
    engine._tessdata = "/nonexistent-tessdata"
    with pytest.raises(ExternalToolError, match="tesseract failed"):
        engine.recognize([line_image("0.5")])
