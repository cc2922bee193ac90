"""One configuration tree, one section per stage.

Loaded from `configs/default.yaml`, then a user file (`--config`), then command-line flags.
Each stage receives only its own section. Every field says what it is for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import UsageError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImagingConfig(Section):
    dpi: int = Field(200, description="render resolution for pages that are not a single embedded image")
    max_pixels: int = Field(60_000_000, description="refuse pages larger than this (decompression-bomb guard)")


class GridConfig(Section):
    min_cells: int = Field(4, description="fewer cells than this on a page means: no table here")


class OcrConfig(Section):
    engine: str = Field("rapidocr", description="OCR engine name (see `pipeline.ocr.registry`)")
    threads: int = Field(0, description="onnxruntime intra-op threads; 0 = cores / workers")
    model_dirs: dict[str, str] = Field(
        default_factory=dict, description="paddleocr only: your own det/rec model folders (keys det, rec)"
    )


class ReadConfig(Section):
    review_confidence: float = Field(0.90, description="a cell read below this confidence needs review")


class RulesConfig(Section):
    forms_file: str = Field("forms.yaml", description="per-form weights and templates, in configs/")


class BatchConfig(Section):
    """How a batch runs. None of it changes what a document yields, so none of it is in the config hash."""

    workers: int = Field(1, ge=1, description="worker processes on this machine (executor local)")
    doc_timeout: float = Field(900.0, gt=0, description="seconds one document may take before its worker is killed")
    memory_limit_mb: int = Field(
        4096, ge=0, description="resident memory (MB) one worker may use before it is killed; 0 = no ceiling"
    )
    max_docs_per_worker: int = Field(
        50, ge=1, description="a worker process is replaced after this many documents, so leaks cannot pile up"
    )
    worker_start_timeout: float = Field(
        120.0, gt=0, description="seconds a new worker process may take to import the pipeline and say it is ready"
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
