"""One configuration tree, one section per stage.

The defaults are `configs/default.yaml` and nowhere else: a field here has a type, its bounds and
what it is for, and takes its value from that file, then from a user file (`--config`), then from
command-line flags. Each stage receives only its own section.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .datafiles import CONFIGS
from .errors import UsageError

DEFAULT_CONFIG = CONFIGS / "default.yaml"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"config {path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise UsageError(f"config {path}: expected a mapping of sections")
    return data


@cache
def _default_tree() -> dict[str, Any]:
    """configs/default.yaml, read once: every default of the tree."""
    return _read_yaml(DEFAULT_CONFIG)


class Section(BaseModel):
    """A section of the tree. Its fields' defaults are set, when the class is made, from its place
    (`yaml_path`) in default.yaml; a field the file does not give is required."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
    yaml_path: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        defaults: Any = _default_tree()
        for key in cls.yaml_path:
            defaults = defaults.get(key, {}) if isinstance(defaults, dict) else {}
        for name, info in cls.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, Section):
                info.default_factory = info.annotation
            elif isinstance(defaults, dict) and name in defaults:
                info.default = defaults[name]
        cls.model_rebuild(force=True)


class ImagingConfig(Section):
    yaml_path = ("imaging",)

    dpi: int = Field(description="render resolution for pages that are not a single embedded image")
    max_pixels: int = Field(description="refuse pages larger than this (decompression-bomb guard)")
    max_native_dpi: float = Field(
        description="a page's embedded image above this resolution is resampled to `dpi` (grid and OCR cost)"
    )
    min_text_chars: int = Field(description="a PDF page with fewer text characters is treated as a scan")
    max_traditional_share: float = Field(
        description="share of traditional glyphs (項財數) above which a text layer is bad OCR"
    )
    max_spaced_numbers: int = Field(description="this many numbers with spaces inside (459. 80) mean bad OCR")
    max_garbage_share: float = Field(description="share of unexpected symbols above which a text layer is garbage OCR")
    orient: bool = Field(description="turn scanned pages fed sideways or upside down upright (scan/orientation.py)")
    sideways_ratio: float = Field(
        description="a page whose ink joins less when smeared across than down (this ratio) has sideways text"
    )
    orient_min_lines: int = Field(description="text lines needed to decide whether a page is upside down")


class GridConfig(Section):
    yaml_path = ("grid",)

    min_cells: int = Field(description="fewer cells than this on a page means: no table here")
    max_dpi: float = Field(
        ge=72.0, description="finer pages are searched for rulings at this resolution (reading keeps the full one; "
        "at 200, two merged cells of a 250-dpi fixture scan split)"
    )
    ink_threshold: int = Field(
        description="ink level (0 paper … 255 black, against local paper) that counts as ink, for the grid and "
        "for reading the cells alike"
    )
    background_dpi: float = Field(description="resolution at which the paper brightness is estimated")
    background_kernel_in: float = Field(description="window (inches) for the paper estimate; wider than any stroke")
    seal_saturation: int = Field(description="red minus max(green, blue) above this is seal ink, not text")
    seal_min_red: int = Field(description="…provided the red level is at least this (dark pixels are text)")
    grey_seal_radius_in: tuple[float, float] = Field(
        description="a seal on a greyscale scan is a ring of this radius (inches, smallest and largest)"
    )
    grey_seal_max_ink: int = Field(description="seal ink on a greyscale scan is lighter than this; text is darker")
    grey_seal_cover: float = Field(description="share of its circle a seal's ring of grey ink covers, at least")
    grey_seal_edge_in: float = Field(
        description="under a grey seal, grey ink this close (inches) to a stroke darker than seal ink is the stroke's edge"
    )
    grey_seal_text_margin: float = Field(
        description="the page's text must be this much darker (ink units) than seal ink can be for the seal to be faded"
    )
    border_level: int = Field(description="red level below which a thick dark area is scanner border, not ink")
    border_min_in: float = Field(description="dark areas thicker than this (inches) are border or shadow")
    min_skew_deg: float = Field(description="skew below this is left alone (no resampling)")
    max_skew_deg: float = Field(description="largest skew searched for")
    photo_min_slant_deg: float = Field(
        description="opposite sides of a table's frame this far apart in direction (degrees): a photo at a slant, "
        "flattened by the frame"
    )
    residual_skew_deg: float = Field(
        description="rulings still leaning this much (degrees) after the deskew turn the page again…"
    )
    residual_agreement_deg: float = Field(
        description="…when half their length leans that way to within this (degrees): not a photo's fan"
    )
    ridge_smooth_in: float = Field(description="ink is averaged along a line over this (inches): bridges gaps")
    ridge_windows_h_in: tuple[tuple[float, float, float], ...] = Field(
        description="(near, mid, far) inches above/below a horizontal ruling: paper on both sides near…mid, "
        "on one side mid…far (see grid.ridge_mask)",
    )
    ridge_windows_v_in: tuple[tuple[float, float, float], ...] = Field(
        description="the same beside a vertical ruling; any window will do",
    )
    ridge_threshold: float = Field(description="how much darker (ink units) a ruling is than the page beside it")
    ridge_dominance: float = Field(description="the page beside a ruling is at most this share of its ink")
    line_kernel_in: float = Field(description="a ruling piece is at least this long (inches)")
    max_line_thickness_in: float = Field(description="thicker horizontal/vertical runs are not rulings")
    collinear_tol_in: float = Field(description="pieces this close to a ruling's line (inches) join it")
    corner_reach_in: float = Field(description="rulings that end this close to each other still cross")
    min_cell_in: float = Field(description="rulings closer than this (inches) are one grid line")
    min_column_in: float = Field(
        description="two column edges closer than this (inches) on one row: the one less ruled there is a streak"
    )
    edge_kernel_in: float = Field(description="shortest ruling run (inches) counted when checking a cell edge")
    edge_band_in: float = Field(description="half-width (inches) of the band along a grid line searched for ink")
    corner_margin_in: float = Field(description="ends of a cell edge (inches) left out of its coverage")
    edge_coverage: float = Field(description="share of a cell edge that must be ruled for the edge to count")
    edge_end_paper_in: float = Field(
        description="…unless this much (inches) at both of its ends is unruled…"
    )
    glyph_join_in: float = Field(
        description="…and ink at least this wide (inches) runs unbroken across the line there: a glyph's stroke"
    )
    streak_overrun_in: float = Field(
        description="a line running this far (inches) past the table's outermost rulings at both ends is a "
        "scanner streak, not a ruling"
    )
    streak_alone_overrun_in: float = Field(
        description="a line running this far (inches) past the rulings across it, where most rulings stop, is a streak"
    )
    streak_min_skew_deg: float = Field(
        description="…or past them at one end, when the rulings lie this far (degrees) from the scanner's frame…"
    )
    streak_slope_tolerance: float = Field(
        description="…and the line runs straight in the scanner's frame, to this share of that slope"
    )
    weak_edge_coverage: float = Field(
        description="…or this share, for an edge beside an existing one on the same grid line (faint rulings)"
    )
    lone_edge_coverage: float = Field(
        description="…for an inner edge with no ruled neighbour along its grid line: overall and at each end"
    )
    column_line_share: float = Field(
        description="a grid line ruled on this share of a table's rows is a column line: where its ruling faded, "
        "the text may show it"
    )
    text_gap_in: float = Field(description="…where the texts beside it stand this far (inches) from it, on both sides at least")
    text_min_in: float = Field(description="…and text on each side of it is at least a glyph this size (inches) square")


class RapidOcrOptions(Section):
    """rapidocr (the default engine): PP-OCR recognition on onnxruntime, batched by line width."""

    yaml_path = ("ocr", "rapidocr")

    # Small batches: the recognizer's working memory grows with the batch (two batches run at once),
    # and small batches are no slower on a single-threaded session (BENCHMARK.md).
    rec_batch_size: int = Field(
        ge=1, description="text-line crops per recognizer call at most (lines of one padded width, at most this × "
        "320 px in all)"
    )
    rec_width_step: float = Field(
        gt=1.0, description="lines are padded to the widths 48 × step^k (the same padding for a line whatever its "
        "neighbours; smaller = less padding, more recognizer calls)"
    )
    rec_width_scale: float = Field(
        description="lines are narrowed by this factor before recognition (cost is linear in width; accuracy on "
        "the fixtures holds down to 0.7, drops at 0.6)",
    )
    alt_min_prob: float = Field(
        description="a runner-up character at least this probable yields an alternative reading")
    max_alternatives: int = Field(description="alternative readings kept per text line")


class PaddleOcrOptions(Section):
    """paddleocr: PaddleOCR 3.x on the same weights, through onnxruntime."""

    yaml_path = ("ocr", "paddleocr")

    rec_batch_size: int = Field(ge=1, description="text-line crops per recognizer call at most")
    model_dirs: dict[str, str] = Field(description="your own det/rec model folders (keys det, rec)")
    cache_dir: str = Field(description="where its model folders are built; empty = the user cache folder")


class TesseractOptions(Section):
    """tesseract: the Debian chi_sim model, one process per crop."""

    yaml_path = ("ocr", "tesseract")

    timeout: float = Field(description="seconds one crop may take")


class OcrConfig(Section):
    yaml_path = ("ocr",)

    engine: str = Field(description="OCR engine name (see `pipeline.ocr.registry`)")
    threads: int = Field(
        description="recognizer threads per worker (rapidocr: batches read at once; paddleocr: onnxruntime "
        "intra-op threads); 0 = the machine's cores, shared among a run's workers"
    )
    rapidocr: RapidOcrOptions
    paddleocr: PaddleOcrOptions
    tesseract: TesseractOptions


class ReadConfig(Section):
    yaml_path = ("read",)

    review_confidence: float = Field(description="a cell read below this confidence needs review")
    view_floor: int = Field(description="ink level shown as paper in the crops given to the engine")
    solid_ink: int = Field(
        description="ink level shown as solid black in the crops given to the engine (lower fattens strokes: "
        "數 for 数)"
    )
    ruling_min_in: float = Field(
        description="straight strokes longer than this (inches) are rulings, not text (一 of 12-pt text is ~0.15)"
    )
    ruling_max_thickness_in: float = Field(
        description="a long stroke left in a cell with at most this much ink per unit of length (inches) is a "
        "ruling, not a glyph"
    )
    inset_in: float = Field(description="crop this far (inches) inside a cell's box, clear of its rulings")
    trim_reach_in: float = Field(description="how far in from the crop's edge (inches) a leftover ruling is looked for")
    ruling_fill: float = Field(description="a row/column near the crop edge this full of ink is a ruling")
    min_ink_in2: float = Field(description="a cell or line with less ink (square inches) is empty")
    pad_in: float = Field(description="paper kept around each text line crop (inches)")
    line_gap_in: float = Field(description="blank rows up to this (inches) stay inside one text line")
    min_line_in: float = Field(description="an ink run lower than this (inches) is part of a neighbouring line")
    max_band_line_in: float = Field(
        description="a title-band line taller than this (inches) is lines run together: the band is read by detection"
    )
    min_glyph_in: float = Field(
        description="ink smaller than this (inches) both ways, outside the rows of real glyphs, is a speck: it "
        "neither makes a text line nor stretches one"
    )
    dash_width_in: tuple[float, float] = Field(
        description="a cell whose only glyph is one flat stroke this wide (inches, least and most) holds a dash"
    )
    dash_flatness: float = Field(description="…and the stroke is at most this share of its width tall…")
    dash_height_in: float = Field(description="…and at most this tall (inches): a line of digits is flat too")


class RulesConfig(Section):
    yaml_path = ("rules",)

    forms_file: str = Field(description="the form catalogue: a file in configs/, or a path of your own")

    @property
    def forms_path(self) -> Path:
        """`forms_file` as a path: a name in configs/, or a path of the user's own (kept as it is)."""
        return DEFAULT_CONFIG.parent / self.forms_file


class BatchConfig(Section):
    """How a batch runs. None of it changes what a document yields, so none of it is in the config hash."""

    yaml_path = ("batch",)

    workers: int = Field(ge=1, description="worker processes on this machine (executor local)")
    doc_timeout: float = Field(
        gt=0, description="seconds one document may take before its worker is killed, whatever its length"
    )
    page_timeout: float = Field(
        gt=0, description="seconds per page a long document may take, where that is more than doc_timeout "
        "(a page takes about 2 s; a 650-page scan cannot be read in 900 s)"
    )
    max_file_size_mb: int = Field(
        ge=0, description="an input larger than this (MB) is failed without being read; 0 = no limit "
        "(a 500-page 200-dpi scan is about 160 MB)"
    )
    memory_limit_mb: int = Field(
        ge=0, description="resident memory (MB) one worker may use before it is killed; 0 = no ceiling"
    )
    max_docs_per_worker: int = Field(
        ge=1, description="a worker process is replaced after this many documents, so leaks cannot pile up"
    )
    worker_start_timeout: float = Field(
        gt=0, description="seconds a new worker process may take to import the pipeline and say it is ready, "
        "and again to load its models before its first document (not counted in --doc-timeout)"
    )
    executor: Literal["local", "dask"] = Field(
        description="local: worker processes on this machine; dask: tasks on a Dask cluster (`scheduler`)"
    )
    scheduler: str = Field(description="Dask scheduler address (tcp://host:8786), executor dask only")
    progress_every: float = Field(
        gt=0, description="seconds between progress lines when the log is not a terminal (cron)"
    )


class Config(Section):
    """The whole tree (default.yaml's top level)."""

    imaging: ImagingConfig = Field(description="PDF/image → pages (`ingest/`)")
    grid: GridConfig = Field(description="ruled tables on a page image (`scan/grid.py`)")
    ocr: OcrConfig = Field(description="the OCR engine and its options (`ocr/`)")
    read: ReadConfig = Field(description="cells → text lines → the engine (`scan/read.py`)")
    rules: RulesConfig = Field(description="the form catalogue (`forms/catalog.py`)")
    batch: BatchConfig = Field(description="how a batch runs (`batch/`)")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(user_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """The defaults, then `user_file`, then `overrides` (command-line flags); a bad value is a usage error."""
    data = _default_tree()
    if user_file is not None:
        data = _merge(data, _read_yaml(user_file))
    data = _merge(data, overrides or {})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"config: {exc}") from exc
