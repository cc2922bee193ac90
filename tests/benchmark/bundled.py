"""Model files that ship inside installed wheels: the only weights the benchmark may load."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, relative: str) -> Path:
    """A file inside an installed package, or an error naming the package to install."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{relative} is missing from the installed {package} package")
    return path


def rapidocr_model(filename: str) -> Path:
    """PP-OCRv6 small det/rec ONNX files from the rapidocr wheel (no other choice is offline)."""
    return package_file("rapidocr", f"models/{filename}")
