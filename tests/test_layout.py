"""Rows of a table continued over pages are placed under the header's columns."""

from __future__ import annotations

from pipeline.forms.catalog import default_catalogue
from pipeline.forms.fields import FieldReader
from pipeline.forms.indicators import read_indicator_table
from pipeline.forms.layout import Row
from pipeline.types import BBox, Cell

HEADER = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分")
EDGES = (100, 200, 300, 500, 620, 740, 820, 900, 1100)


def _row(page: int, y: int, texts: tuple[str, ...], first: int = 0) -> Row:
    """A row of a grid whose columns start at column `first` (the columns left of it lost)."""
    cells = tuple(Cell(page=page, row=y, col=k, text=t, engine="rapidocr",
                       bbox=BBox(EDGES[first + k], 40 * y, EDGES[first + k + 1], 40 * y + 40))
                  for k, t in enumerate(texts[first:]))
    return Row(page=page, cells=cells, first_on_page=y == 0, left=EDGES[first])


def _table(first_on_page_2: int) -> list[Row]:
    rows = [_row(1, 0, HEADER)]
    rows += [_row(1, y, ("产出指标", "数量指标", f"甲{y}", "=1(个)", "1(个)", "2.00", "2.00")) for y in (1, 2, 3)]
    rows += [_row(2, y, ("产出指标", "质量指标", f"乙{y}", "=100.00(%)", "100.00(%)", "3.00", "3.00"), first_on_page_2)
             for y in range(0, 4)]
    return rows


def test_a_continued_page_that_lost_its_outer_column_keeps_its_columns():
    """Page 2's 一级 ruling faded: its grid starts at the 二级 column. Placed by its left edge, every
    cell fell one column left (二级 read as 一级, 三级 as 二级, …); placed by its column rulings, not."""
    for lost in (0, 1):
        rows = [r for r in _table(lost) if r.cells]
        table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
        page2 = [i for i in table.indicators if i.page == 2]
        assert [(i.level2, i.level3, i.target, i.max_score) for i in page2][0][:3] == ("质量指标", "乙0", "=100.00(%)")
        assert all(str(i.max_score) == "3.00" and str(i.score) == "3.00" for i in page2)


def test_header_cells_run_together_are_split_at_the_column_rulings_below():
    """`二级指 三级指标` and `分值得分` each read as one header cell (their rulings faded in the
    header row): split at the rulings the rows below have (二级 is narrower than 三级), not at
    the middle, and 得分 is still found inside `分值得分`."""
    edges = (100, 200, 300, 500, 620, 740, 820, 900)

    def row(y, texts, joined=()):
        cells, k = [], 0
        while k < len(texts):
            width = 2 if k in joined else 1
            cell = Cell(page=1, row=y, col=k, text=texts[k], engine="rapidocr",
                        bbox=BBox(edges[k], 40 * y, edges[k + width], 40 * y + 40))
            cells += [cell] * width
            k += width
        return Row(page=1, cells=tuple(cells), first_on_page=y == 0, left=100)

    header = row(0, ("一级指标", "二级指 三级指标", "", "年度指标值", "实际完成值", "分值得分", ""), joined=(1, 5))
    rows = [header] + [row(y, ("产出指标", "数量指标", f"甲{y}", "=1(个)", "1(个)", "2.00", "1.50")) for y in (1, 2, 3)]
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    assert [(i.level2, i.level3, str(i.max_score), str(i.score)) for i in table.indicators] == [
        ("数量指标", f"甲{y}", "2.00", "1.50") for y in (1, 2, 3)]


def test_a_seals_characters_in_the_reason_column_of_a_full_marks_row_are_dropped_and_flagged():
    """A grey seal over the last rows reads as `城市` in 偏差原因; a row with full marks needs no
    reason, so a few characters there are the seal's: dropped (in corrections), no reason to look.
    A row that lost marks keeps its reason, however short."""
    rows = [_row(1, 0, HEADER + ("偏差原因",))]
    rows.append(_row(1, 1, ("产出指标", "数量指标", "甲", "=1(个)", "1(个)", "2.00", "2.00", "城市")))
    rows.append(_row(1, 2, ("产出指标", "数量指标", "乙", "=1(个)", "0(个)", "2.00", "1.00", "未完成")))
    reader = FieldReader()
    table = read_indicator_table(rows, 0, "project", reader, default_catalogue())
    first, second = table.indicators
    assert first.deviation_reason == "" and not first.needs_review
    assert any(c.raw == "城市" and c.kind == "stamp" for c in reader.corrections)
    assert second.deviation_reason == "未完成"


def test_a_garbled_level1_label_is_the_level1_of_its_rows_level2():
    """A 一级 cell read as `微生物` (nothing like any 一级) beside the 二级 社会效益指标: the framework
    puts that 二级 under 效益指标 only, so that is the 一级 of the block, and the change is logged.
    A 一级 label that is no word of the framework and has no 二级 beside it stays as read."""
    rows = [_row(1, 0, HEADER)]
    rows += [_row(1, y, ("微生物", "社会效益指标", f"甲{y}", "提升", "提升", "5.00", "5.00")) for y in (1, 2)]
    rows.append(_row(1, 3, ("州", "", "乙", "提升", "提升", "5.00", "5.00")))
    reader = FieldReader()
    table = read_indicator_table(rows, 0, "project", reader, default_catalogue())
    assert [i.level1 for i in table.indicators[:2]] == ["效益指标", "效益指标"]
    assert any(c.field == "level1" and c.raw == "微生物" and c.corrected == "效益指标" for c in reader.corrections)
    assert not any(c.raw == "州" for c in reader.corrections)


def test_a_three_level_name_over_two_rows_is_flagged_on_both():
    """A row ruling lost in the 三级 column makes one cell of two names; by the merged-cell rule its
    text goes to both rows, wrong on each. Every indicator row has its own 三级: both are flagged."""
    rows = [_row(1, 0, HEADER)]
    rows += [_row(1, y, ("产出指标", "数量指标", f"甲{y}", "=1(个)", "1(个)", "2.00", "2.00")) for y in (1, 2, 3)]
    joined = Cell(page=1, row=2, col=2, text="乙一乙二", engine="rapidocr", rowspan=2, bbox=BBox(300, 80, 500, 160))
    for y in (2, 3):
        rows[y] = Row(page=1, cells=(rows[y].cells[:2] + (joined,) + rows[y].cells[3:]), first_on_page=False, left=100)
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    assert [i.needs_review for i in table.indicators] == [False, True, True]
    assert "三级 read as one cell over several rows" in table.indicators[1].note
