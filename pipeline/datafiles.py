"""The project's own data files → paths: `configs/` (defaults, the forms' weights and templates)
and `models/` (the weight manifest).

They live at the top of the repository, where a user reads and edits them; `pipeline/configs` and
`pipeline/models` link there, so that a built wheel carries them inside the package. Either way
they are found through `importlib.resources`, never relative to a working directory or to where
the package happens to sit: an editable checkout, a wheel installed into a fresh venv and a Dask
worker read the same files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

CONFIGS = Path(str(files("pipeline") / "configs"))
MODELS = Path(str(files("pipeline") / "models"))
