"""Pages fed into the scanner sideways or upside down are turned upright before the grid is read."""

from __future__ import annotations

import cv2
import pytest

from pipeline.config import Config, GridConfig
from pipeline.scan.grid import detect_grids
from pipeline.scan.orientation import upright
from tests.test_grid import as_page, degrade, expected_structure, project_form, render_form, structure

_TURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@pytest.mark.parametrize("fed", [0, 90, 180, 270])
@pytest.mark.parametrize("font,dpi", [("ming", 200), ("hei", 150)])
def test_page_fed_any_way_round_is_read_upright(fed, font, dpi):
    spec = project_form()
    rendered = render_form(spec, dpi=dpi, font=font)
    scanned = degrade(rendered.image, dpi, skew_deg=1.2, jpeg=50, noise=4, seed=fed)
    page = cv2.rotate(scanned, _TURN[fed]) if fed else scanned
    turned = upright(as_page(page, dpi), Config())
    assert (fed + turned.turned) % 360 == 0
    assert turned.image.image.shape == scanned.shape
    grids = detect_grids(turned.image, GridConfig()).grids
    assert len(grids) == 1 and structure(grids[0]) == expected_structure(spec)


def test_orientation_can_be_switched_off():
    rendered = render_form(project_form(), dpi=150)
    page = cv2.rotate(rendered.image, cv2.ROTATE_180)
    cfg = Config.model_validate({"imaging": {"orient": False}})
    assert upright(as_page(page, 150), cfg).turned == 0
