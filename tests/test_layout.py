"""Rows of a table continued over pages are placed under the header's columns."""

from __future__ import annotations

from pipeline.forms.catalog import default_catalogue
from pipeline.forms.fields import FieldReader
from pipeline.forms.indicators import is_header, read_indicator_table
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


def test_a_money_header_read_as_one_cell_and_two_amounts_in_one_cell_are_read_apart():
    """A faint scan's money block: `全年预算数全年执行数` read as one header cell (its ruling lost in
    the header row), and the ruling between 基本支出 and 项目支出 lost in the 全年预算数 column (one
    cell holds both amounts, under both rows). The header is split at the column ruling of the
    rows below; the cell's amounts are counted once, and go one to each row."""
    from pipeline.forms.funding import read_funding

    xs = (100, 300, 500, 700, 900)  # label | 全年预算数 | 全年执行数 | 执行率

    def cell(y, k, text, span=1, rows=1):
        return Cell(page=1, row=y, col=k, text=text, engine="rapidocr", colspan=span, rowspan=rows,
                    bbox=BBox(xs[k], 40 * y, xs[k + span], 40 * (y + rows)))

    header = cell(0, 1, "全年预算数全年执行数", span=2)
    head = Row(page=1, cells=(cell(0, 0, ""), header, header, cell(0, 3, "执行率(%)")), first_on_page=True, left=100)
    merged = cell(3, 1, "1,231,772.00\n1,041,220.20", rows=2)
    lines = [("资金来源：（1）财政拨款", "2,196,657.46", "2,125,159.56", "96.74"),
             ("（2）其他资金", "76,334.74", "73,925.23", "96.84")]
    rows = [head] + [Row(page=1, cells=(cell(y, 0, a), cell(y, 1, b), cell(y, 2, c), cell(y, 3, d)),
                         first_on_page=False, left=100) for y, (a, b, c, d) in enumerate(lines, start=1)]
    rows += [Row(page=1, cells=(cell(3, 0, "资金结构：（1）基本支出"), merged, cell(3, 2, "1,219,689.68"), cell(3, 3, "99.01")),
                 first_on_page=False, left=100),
             Row(page=1, cells=(cell(4, 0, "（2）项目支出"), merged, cell(4, 2, "979,395.11"), cell(4, 3, "94.06")),
                 first_on_page=False, left=100)]
    funding = {f.item: f for f in read_funding(rows, 0, "unit_overall", FieldReader(), default_catalogue())}
    assert [(str(funding[i].budget), str(funding[i].executed)) for i in ("财政拨款", "其他资金", "基本支出", "项目支出")] == [
        ("2196657.46", "2125159.56"), ("76334.74", "73925.23"), ("1231772.00", "1219689.68"), ("1041220.20", "979395.11")]


def test_a_level1_label_read_with_its_weight_gives_both():
    """The ruling between 一级指标 and 权重 lost: one cell over both, read `投入管30`. The label is
    the 一级 (snapped to the framework's word) and the number after it the block's 权重, logged."""
    head = ("一级指标", "权重", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分")
    xs = (100, 200, 260, 360, 560, 680, 800, 880, 960)

    def row(y, texts, joined=False):
        cells, k = [], 0
        while k < len(texts):
            span = 2 if joined and k == 0 else 1
            cell = Cell(page=1, row=y, col=k, text=texts[k], engine="rapidocr", colspan=span,
                        bbox=BBox(xs[k], 40 * y, xs[k + span], 40 * y + 40))
            cells += [cell] * span
            k += span
        return Row(page=1, cells=tuple(cells), first_on_page=y == 0, left=100)

    rows = [row(0, head)]
    rows += [row(y, ("投入管30", "", "预算编审管理", "说明", "", "", "7.50", "7.50"), joined=True) for y in (1,)]
    reader = FieldReader()
    table = read_indicator_table(rows, 0, "unit_overall", reader, default_catalogue())
    first = table.indicators[0]
    assert (first.level1, str(first.level1_weight)) == ("投入管理指标", "30")
    assert any(c.raw == "投入管30" and c.kind == "merged_columns" for c in reader.corrections)


def test_a_score_joined_to_the_reason_column_is_still_the_score():
    """The ruling between 得分 and 偏差原因 faded on one row: its `6.50` is one cell over both
    columns, centred in the reason column. It is the row's 得分, not a reason without words."""
    header = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析")

    def row(y, texts, joined=False):
        cells = [Cell(page=1, row=y, col=k, text=t, engine="rapidocr",
                      bbox=BBox(EDGES[k], 40 * y, EDGES[k + 1], 40 * y + 40)) for k, t in enumerate(texts)]
        if joined:
            cells[6] = cells[7] = Cell(page=1, row=y, col=6, text=texts[6], engine="rapidocr",
                                       bbox=BBox(EDGES[6], 40 * y, EDGES[8], 40 * y + 40))
        return Row(page=1, cells=tuple(cells), first_on_page=y == 0, left=100)

    rows = [row(0, header)] + [row(y, ("效益指标", "社会效益指标", f"甲{y}", "提升", "提升", "6.50", "6.50", ""),
                                   joined=y == 2) for y in (1, 2, 3)]
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    assert [(str(i.score), i.deviation_reason) for i in table.indicators] == [("6.50", "")] * 3


def test_a_header_whose_level_names_lost_their_first_stroke_still_starts_the_table():
    """On a 1-bit scan the strokes of 二 and 三 vanish: both level headers read `级指标`. The
    other headers still name the table; the two unnamed cells between 一级 and 年度指标值 are the
    二级 and 三级 columns, in the form's order (a project form has no 权重 column)."""
    garbled = ("一级指标", "级指标", "级指标", "年度指标值", "实际完成值", "分值", "得分")
    rows = [_row(1, 0, garbled)]
    rows += [_row(1, y, ("产出指标", "数量指标", f"甲{y}", "=1(个)", "1(个)", "2.00", "2.00")) for y in (1, 2)]
    assert is_header(rows[0], default_catalogue())
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    assert [(i.level1, i.level2, i.level3, str(i.score)) for i in table.indicators] == [
        ("产出指标", "数量指标", "甲1", "2.00"), ("产出指标", "数量指标", "甲2", "2.00")]
