"""The 总分 row read where the seal's ring took the ruling between its figures."""

from __future__ import annotations

from decimal import Decimal

from pipeline.forms.fields import FieldReader
from pipeline.forms.layout import Column, Row
from pipeline.forms.totals import read_totals
from pipeline.types import BBox, Cell

# 总分 label | 分值 | 得分 | 偏差原因, as boxes in page pixels
MAX, SCORE = Column(1, 1100, 1250, left=100), Column(2, 1250, 1380, left=100)


def _row(*cells: tuple[str, int, int]) -> Row:
    out = [Cell(page=3, row=9, col=k, text=text, confidence=0.9, bbox=BBox(x0, 380, x1, 440), engine="rapidocr")
           for k, (text, x0, x1) in enumerate(cells)]
    return Row(page=3, cells=tuple(out), first_on_page=False, left=100)


def test_one_cell_over_both_columns_gives_each_its_figure_and_logs_the_join():
    reader = FieldReader()
    totals = read_totals(_row(("总分", 100, 1100), ("100.00|=99.49", 1100, 1380), ("", 1380, 1540)), MAX, SCORE, reader)
    assert (totals.max_score, totals.score) == (Decimal("100.00"), Decimal("99.49"))
    assert any(c.kind == "merged_columns" and c.field == "total_score" for c in reader.corrections)


def test_a_score_joined_to_the_empty_reason_column_is_still_the_score():
    totals = read_totals(_row(("总分", 100, 1100), ("100.00", 1100, 1250), ("98.67", 1249, 1540)), MAX, SCORE,
                         FieldReader())
    assert (totals.max_score, totals.score) == (Decimal("100.00"), Decimal("98.67"))


def test_figures_run_together_are_not_guessed_apart():
    totals = read_totals(_row(("总分", 100, 1100), ("100.0000.0", 1100, 1380), ("", 1380, 1540)), MAX, SCORE,
                         FieldReader())
    assert (totals.max_score, totals.score) == (None, None)  # left for a person, not split into 100.0000 and 0
