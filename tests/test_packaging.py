"""perfscan as a user installs it: a built wheel, in a fresh venv, run from another folder.

The wheel must carry configs/ and models/ (read through importlib.resources), or every document
fails ("forms config … cannot read it") once perfscan is not an editable checkout — on a Dask
worker, or under pipx. The dependencies are not downloaded again: the fresh venv sees the test
venv's packages through a .pth line (not its editable perfscan: .pth files there are not read),
and the wheel goes in with --no-deps.
"""

from __future__ import annotations

import csv
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.batchfiles import REPO, fixture


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_processes_a_fixture_from_another_folder(tmp_path):
    # Built from a copy of the sources, links kept: pip builds a local folder in place (build/, egg-info).
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "out", "fixtures", "tests", "*.egg-info", "__pycache__", ".pytest_cache"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip(f"cannot fetch the build backend (setuptools) offline: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("perfscan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"pipeline/configs/default.yaml", "pipeline/configs/forms.yaml", "pipeline/models/manifest.json"} <= set(names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    own_site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    (own_site / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import pipeline.datafiles as d; print(d.CONFIGS)"], cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(own_site), where  # the wheel's copy, not the checkout's

    out = elsewhere / "out"
    done = subprocess.run([env_dir / "bin" / "perfscan", "run", fixture("u000_digital"), "--out", "out"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (doc,) = csv.DictReader((out / "documents.csv").read_text("utf-8-sig").splitlines())
    assert (doc["form_type"], doc["status"]) == ("unit_overall", "ok"), doc
    assert len(list(csv.DictReader((out / "indicators.csv").read_text("utf-8-sig").splitlines()))) > 10
