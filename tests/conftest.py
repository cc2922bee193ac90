"""Shared test fixtures: where the real seed documents are, when they are there."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


def seed(prefix: str) -> Path:
    """A real seed document by its number; skip when the shared folder is not beside the repo."""
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not matches:
        pytest.skip(f"seed {prefix} not available: ../shared/seeds is not beside this checkout")
    return matches[0]
