"""The benchmark's shared accuracy rule, on hand-made rows (no OCR: milliseconds)."""

from __future__ import annotations

from decimal import Decimal

from pipeline.records import Document, Indicator

from .accuracy import indicator_share
from .report import write_sections
from .tokens import Token, rows_from_boxes, rows_from_cells


def _doc(*indicators: Indicator) -> Document:
    return Document(doc_id="0" * 16, source_path="x.pdf", sha256="0" * 64, indicators=list(indicators))


ROW = Indicator(seq=1, level2="数量指标", level3="“两新”党员区域集中党课参与人数", target="=0.00(个)",
                actual="0.00(个)", max_score=Decimal("1.00"), score=Decimal("1.00"))


def test_table_rows_match_by_cell_and_numbers_as_decimals():
    rows = rows_from_cells([["产出指标", "数量指标", "“两新”党员区域集中党课参与人数", "=0.00(个)", "0.00(个)", "1", "1.0"]])
    share = indicator_share(_doc(ROW), rows, structured=True)
    assert (share.found, share.counted) == (5, 5)


def test_a_value_in_the_next_table_row_is_not_found():
    rows = rows_from_cells([["“两新”党员区域集中党课参与人数", "=0.00(个)", "0.00(个)"], ["1.00", "1.00"]])
    share = indicator_share(_doc(ROW), rows, structured=True)
    assert (share.found, share.counted) == (3, 5)


def test_wrapped_cell_with_centred_values_is_one_window_of_lines():
    # Full-page OCR: the name wraps onto two lines, the other cells sit between them.
    boxes = [
        Token('"两新"党员区域集中党课', 100, 0, 300, 20),
        Token("=0.00（个）", 320, 12, 400, 32), Token("0.00(个)", 420, 12, 500, 32),
        Token("1.00", 520, 12, 560, 32), Token("1.00", 580, 12, 620, 32),
        Token("参与人数", 160, 24, 240, 44),
    ]
    share = indicator_share(_doc(ROW), rows_from_boxes(boxes), structured=False)
    assert (share.found, share.counted) == (5, 5)


def test_a_narrative_cell_quoting_the_name_does_not_win_over_its_row():
    rows = rows_from_cells([["目标：提高“两新”党员区域集中党课参与人数"],
                            ["“两新”党员区域集中党课参与人数", "=0.00(个)", "0.00(个)", "1.00", "1.00"]])
    assert indicator_share(_doc(ROW), rows, structured=True).found == 5


def test_word_pieces_on_one_line_spell_a_value():
    boxes = [Token("“两新”党员区域集中党课参与人数", 0, 0, 300, 20), Token("=0.00(", 320, 0, 370, 20),
             Token("个", 370, 0, 385, 20), Token(")", 385, 0, 392, 20)]
    assert indicator_share(_doc(ROW), rows_from_boxes(boxes), structured=False).found == 2


def test_sections_are_replaced_one_at_a_time(tmp_path):
    path = tmp_path / "BENCHMARK.md"
    write_sections(path, "# intro", ["a", "b"], {"a": "first A", "b": "first B"})
    write_sections(path, "# intro", ["a", "b"], {"b": "second B"})
    text = path.read_text("utf-8")
    assert "first A" in text and "second B" in text and "first B" not in text
