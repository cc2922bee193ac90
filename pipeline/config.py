"""One configuration tree, one section per stage.

Loaded from `configs/default.yaml`, then a user file (`--config`), then command-line flags.
Each stage receives only its own section. Every field says what it is for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .datafiles import CONFIGS
from .errors import UsageError

DEFAULT_CONFIG = CONFIGS / "default.yaml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImagingConfig(Section):
    dpi: int = Field(200, description="render resolution for pages that are not a single embedded image")
    max_pixels: int = Field(60_000_000, description="refuse pages larger than this (decompression-bomb guard)")
    max_native_dpi: float = Field(
        400.0, description="a page's embedded image above this resolution is resampled to `dpi` (grid and OCR cost)"
    )
    min_text_chars: int = Field(20, description="a PDF page with fewer text characters is treated as a scan")
    max_traditional_share: float = Field(
        0.02, description="share of traditional glyphs (項財數) above which a text layer is bad OCR"
    )
    max_spaced_numbers: int = Field(2, description="this many numbers with spaces inside (459. 80) mean bad OCR")
    max_garbage_share: float = Field(
        0.05, description="share of unexpected symbols above which a text layer is garbage OCR"
    )
    orient: bool = Field(True, description="turn scanned pages fed sideways or upside down upright (orientation.py)")
    sideways_ratio: float = Field(
        1.0, description="a page whose ink joins less when smeared across than down (this ratio) has sideways text"
    )
    orient_min_lines: int = Field(4, description="text lines needed to decide whether a page is upside down")


class GridConfig(Section):
    min_cells: int = Field(4, description="fewer cells than this on a page means: no table here")
    max_dpi: float = Field(
        250.0, ge=72.0, description="finer pages are searched for rulings at this resolution (reading keeps the full one; "
        "at 200, two merged cells of a 250-dpi fixture scan split)"
    )
    ink_threshold: int = Field(60, description="ink level (0 paper … 255 black, against local paper) that counts as ink")
    background_dpi: float = Field(25.0, description="resolution at which the paper brightness is estimated")
    background_kernel_in: float = Field(0.3, description="window (inches) for the paper estimate; wider than any stroke")
    seal_saturation: int = Field(50, description="red minus max(green, blue) above this is seal ink, not text")
    seal_min_red: int = Field(160, description="…provided the red level is at least this (dark pixels are text)")
    border_level: int = Field(90, description="red level below which a thick dark area is scanner border, not ink")
    border_min_in: float = Field(0.06, description="dark areas thicker than this (inches) are border or shadow")
    min_skew_deg: float = Field(0.05, description="skew below this is left alone (no resampling)")
    max_skew_deg: float = Field(5.0, description="largest skew searched for")
    residual_skew_deg: float = Field(
        0.5, description="rulings still leaning this much (degrees) after the deskew turn the page again…"
    )
    residual_agreement_deg: float = Field(
        0.2, description="…when half their length leans that way to within this (degrees): not a photo's fan"
    )
    ridge_smooth_in: float = Field(0.05, description="ink is averaged along a line over this (inches): bridges gaps")
    ridge_windows_h_in: tuple[tuple[float, float, float], ...] = Field(
        ((0.02, 0.06, 0.06),),
        description="(near, mid, far) inches above/below a horizontal ruling: paper on both sides near…mid, "
        "on one side mid…far (see grid.ridge_mask)",
    )
    ridge_windows_v_in: tuple[tuple[float, float, float], ...] = Field(
        ((0.015, 0.035, 0.07), (0.03, 0.06, 0.06)),
        description="the same beside a vertical ruling; any window will do",
    )
    ridge_threshold: float = Field(8.0, description="how much darker (ink units) a ruling is than the page beside it")
    ridge_dominance: float = Field(0.5, description="the page beside a ruling is at most this share of its ink")
    line_kernel_in: float = Field(0.2, description="a ruling piece is at least this long (inches)")
    max_line_thickness_in: float = Field(0.03, description="thicker horizontal/vertical runs are not rulings")
    collinear_tol_in: float = Field(0.015, description="pieces this close to a ruling's line (inches) join it")
    corner_reach_in: float = Field(0.05, description="rulings that end this close to each other still cross")
    min_cell_in: float = Field(0.04, description="rulings closer than this (inches) are one grid line")
    edge_kernel_in: float = Field(0.08, description="shortest ruling run (inches) counted when checking a cell edge")
    edge_band_in: float = Field(0.012, description="half-width (inches) of the band along a grid line searched for ink")
    corner_margin_in: float = Field(0.02, description="ends of a cell edge (inches) left out of its coverage")
    edge_coverage: float = Field(0.5, description="share of a cell edge that must be ruled for the edge to count")
    streak_overrun_in: float = Field(
        0.3, description="a line running this far (inches) past the table's outermost rulings at both ends is a "
        "scanner streak, not a ruling"
    )
    streak_min_skew_deg: float = Field(
        0.4, description="…or past them at one end, when the rulings lie this far (degrees) from the scanner's frame…"
    )
    streak_slope_tolerance: float = Field(
        0.3, description="…and the line runs straight in the scanner's frame, to this share of that slope"
    )
    weak_edge_coverage: float = Field(
        0.2, description="…or this share, for an edge beside an existing one on the same grid line (faint rulings)"
    )
    lone_edge_coverage: float = Field(
        0.7, description="…for an inner edge with no ruled neighbour along its grid line: overall and at each end"
    )


class OcrConfig(Section):
    engine: str = Field("rapidocr", description="OCR engine name (see `pipeline.ocr.registry`)")
    threads: int = Field(
        0, description="recognizer threads per worker (rapidocr: batches read at once; paddleocr: onnxruntime "
        "intra-op threads); 0 = cores / workers"
    )
    model_dirs: dict[str, str] = Field(
        default_factory=dict, description="paddleocr only: your own det/rec model folders (keys det, rec)"
    )
    # 4, not 16: the recognizer's working memory grows with the batch (two batches run at once),
    # and small batches are no slower on a single-threaded session. The fixture scans' 1,990
    # lines recognised twice: batch 16 37.1 s, peak 553 MB; batch 4 33.9 s, peak 357 MB.
    rec_batch_size: int = Field(
        4, ge=1, description="text-line crops per recognizer call at most (rapidocr: lines of one padded width, "
        "at most this × 320 px in all)"
    )
    rec_width_step: float = Field(
        1.04, gt=1.0, description="rapidocr only: lines are padded to the widths 48 × step^k (the same padding for a line "
        "whatever its neighbours; smaller = less padding, more recognizer calls)"
    )
    rec_width_scale: float = Field(
        0.75,
        description="rapidocr only: lines are narrowed by this factor before recognition (cost is linear in width; "
        "fixture accuracy holds down to 0.7, drops at 0.6)",
    )
    alt_min_prob: float = Field(
        0.1, description="a runner-up character at least this probable yields an alternative reading"
    )
    max_alternatives: int = Field(3, description="alternative readings kept per text line")
    timeout: float = Field(30.0, description="tesseract only: seconds one crop may take")
    cache_dir: str = Field(
        "", description="paddleocr only: where its model folders are built; empty = the user cache folder"
    )


class ReadConfig(Section):
    review_confidence: float = Field(0.90, description="a cell read below this confidence needs review")
    ink_threshold: int = Field(60, description="ink level (0 paper … 255 black, against local paper) that counts as ink")
    view_floor: int = Field(20, description="ink level shown as paper in the crops given to the engine")
    solid_ink: int = Field(
        255, description="ink level shown as solid black in the crops given to the engine (lower fattens strokes: 數 for 数)"
    )
    ruling_min_in: float = Field(
        0.3, description="straight strokes longer than this (inches) are rulings, not text (一 of 12-pt text is ~0.15)"
    )
    ruling_max_thickness_in: float = Field(
        0.02, description="a long stroke left in a cell with at most this much ink per unit of length (inches) is a "
        "ruling, not a glyph"
    )
    inset_in: float = Field(0.02, description="crop this far (inches) inside a cell's box, clear of its rulings")
    trim_reach_in: float = Field(0.03, description="how far in from the crop's edge (inches) a leftover ruling is looked for")
    ruling_fill: float = Field(0.6, description="a row/column near the crop edge this full of ink is a ruling")
    min_ink_in2: float = Field(0.0002, description="a cell or line with less ink (square inches) is empty")
    pad_in: float = Field(0.02, description="paper kept around each text line crop (inches)")
    line_gap_in: float = Field(0.015, description="blank rows up to this (inches) stay inside one text line")
    min_line_in: float = Field(0.05, description="an ink run lower than this (inches) is part of a neighbouring line")
    min_glyph_in: float = Field(
        0.03, description="ink smaller than this (inches) both ways, outside the rows of real glyphs, is a speck: it "
        "neither makes a text line nor stretches one"
    )


class RulesConfig(Section):
    forms_file: str = Field("forms.yaml", description="per-form weights and templates, in configs/")


class BatchConfig(Section):
    """How a batch runs. None of it changes what a document yields, so none of it is in the config hash."""

    workers: int = Field(1, ge=1, description="worker processes on this machine (executor local)")
    doc_timeout: float = Field(
        900.0, gt=0, description="seconds one document may take before its worker is killed, whatever its length"
    )
    page_timeout: float = Field(
        10.0, gt=0, description="seconds per page a long document may take, where that is more than doc_timeout "
        "(a page takes about 2 s; a 650-page scan cannot be read in 900 s)"
    )
    max_file_size_mb: int = Field(
        4096, ge=0, description="an input larger than this (MB) is failed without being read; 0 = no limit "
        "(a 500-page 200-dpi scan is about 160 MB)"
    )
    memory_limit_mb: int = Field(
        4096, ge=0, description="resident memory (MB) one worker may use before it is killed; 0 = no ceiling"
    )
    max_docs_per_worker: int = Field(
        50, ge=1, description="a worker process is replaced after this many documents, so leaks cannot pile up"
    )
    worker_start_timeout: float = Field(
        120.0, gt=0, description="seconds a new worker process may take to import the pipeline and say it is ready, "
        "and again to load its models before its first document (not counted in --doc-timeout)"
    )
    executor: Literal["local", "dask"] = Field(
        "local", description="local: worker processes on this machine; dask: tasks on a Dask cluster (`scheduler`)"
    )
    scheduler: str = Field("", description="Dask scheduler address (tcp://host:8786), executor dask only")
    progress_every: float = Field(
        60.0, gt=0, description="seconds between progress lines when the log is not a terminal (cron)"
    )


class Config(Section):
    imaging: ImagingConfig = Field(default_factory=ImagingConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    read: ReadConfig = Field(default_factory=ReadConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"config {path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise UsageError(f"config {path}: expected a mapping of sections")
    return data


def load_config(user_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    data = _read_yaml(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    if user_file is not None:
        data = _merge(data, _read_yaml(user_file))
    data = _merge(data, overrides or {})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"config: {exc}") from exc
