"""A comparison sign's bar from its shape: `≥` read as `>` is put right, a real `>` is left alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.scan.signs import sign_has_bar, with_bar_seen

FONTS = [Path("/usr/share/fonts/truetype/arphic/uming.ttc"), Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")]


def _line(text: str, font: Path, px: int, one_bit: bool) -> np.ndarray:
    """A cell's text line as the reader crops it: dark print on paper, `px` tall glyphs."""
    fnt = ImageFont.truetype(str(font), px)
    image = Image.new("L", (px * len(text), 2 * px), 255)
    ImageDraw.Draw(image).text((px // 3, px // 3), text, font=fnt, fill=30)
    line = np.asarray(image)
    return np.where(line < 128, 0, 255).astype(np.uint8) if one_bit else line


@pytest.mark.parametrize("font", FONTS, ids=lambda f: f.stem)
@pytest.mark.parametrize("px", [20, 24, 28, 40])
@pytest.mark.parametrize("one_bit", [False, True])
def test_the_bar_of_a_sign_is_seen_and_a_strict_sign_has_none(font, px, one_bit):
    if not font.exists():
        pytest.skip(f"font {font} not installed (Debian fonts-arphic-uming / fonts-wqy-microhei)")
    assert sign_has_bar(_line("≥90.00(%)", font, px, one_bit)) is True
    assert sign_has_bar(_line("≤250元/人", font, px, one_bit)) is True
    assert sign_has_bar(_line(">90.00(%)", font, px, one_bit)) is False
    assert sign_has_bar(_line("<5.00(%)", font, px, one_bit)) is False


def test_only_a_leading_strict_sign_before_a_figure_is_looked_at():
    font = next((f for f in FONTS if f.exists()), None)
    if font is None:
        pytest.skip("no CJK font installed")
    barred = _line("≥95.00(%)", font, 28, False)
    assert with_bar_seen(">95.00(%)", barred) == "≥95.00(%)"
    assert with_bar_seen("及时", barred) == "及时"
    assert with_bar_seen(">=95", barred) == ">=95"  # written out, not a glyph
    assert with_bar_seen(">90.00(%)", _line(">90.00(%)", font, 28, False)) == ">90.00(%)"
