"""Every scanned fixture through `perfscan run`, scored against its truth with the scan route's targets.

The fixtures were drawn by the same code that reads them, so this is the floor, not the measure
(`tests/test_devset.py` holds the independent forms): rows found ≥ 0.995, figures ≥ 0.995, texts
≥ 0.99, and no wrong value out unflagged — on every scanned form, the bound file's three and the
PDF whose text layer is garbage included. Scored by `tests.benchmark.scoring`, which says for each
wrong value what flags it.
"""

from __future__ import annotations

import json

import pytest

from tests.batchfiles import fixture, run_cli
from tests.benchmark.scoring import score_output
from tests.conftest import REPO

FIXTURES = REPO / "fixtures"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
SCANNED_FORMS = sorted(name for name, m in MANIFEST.items()
                       if m["kind"] != "born_digital" and m["form"] in {"project", "unit_overall", "bound"})


@pytest.mark.slow
def test_every_scanned_fixture_meets_the_scan_route_targets(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in SCANNED_FORMS:
        (inputs / f"{name}.pdf").symlink_to(fixture(name))
    out = tmp_path / "out"
    run = run_cli("run", inputs, "--out", out, "--workers", "2", timeout=900)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    report = score_output(out, FIXTURES / "truth", SCANNED_FORMS)
    assert {d.name.split("#")[0] for d in report.docs if d.found} == set(SCANNED_FORMS)
    summary = (f"rows {report.rows_found_share:.4f} numbers {report.numeric.share:.4f} "
               f"texts {report.text.share:.4f} unflagged {len(report.unflagged)}")
    print(summary)
    assert report.rows_found_share >= 0.995, summary
    assert report.numeric.share >= 0.995, summary
    assert report.text.share >= 0.99, summary
    assert report.unflagged == [], [(m.name, m.key, m.field, m.expected, m.observed) for m in report.unflagged]
