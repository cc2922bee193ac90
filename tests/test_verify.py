"""Reading checks: misreads that OCR is sure of are flagged; garbled closed-vocabulary labels are snapped."""

from __future__ import annotations

from decimal import Decimal as D

from pipeline.checks.assess import assess
from pipeline.checks.verify import verify
from pipeline.forms.catalog import default_catalogue
from pipeline.forms.levels import snap
from pipeline.records import Document, Header, Indicator, Provenance


def _row(seq: int, level2: str, max_score: str, score: str, **kw) -> Indicator:
    values = dict(level1="产出指标", level2=level2, level3=f"指标{seq}", target="≥90.00(%)", actual="95.00(%)")
    values.update(kw)
    prov = {k: Provenance(page=1, confidence=0.99, engine="rapidocr") for k in ("max_score", "score")}
    prov.update(values.pop("provenance", {}))
    return Indicator(seq=seq, page=1, max_score=D(max_score), score=D(score), provenance=prov, **values)


def _doc(rows: list[Indicator]) -> Document:
    return Document(doc_id="0" * 16, source_path="x.pdf", sha256="0" * 64, engine="rapidocr",
                    header=Header(form_type="project", year=2023, unit_name="某单位", project_name="某项目",
                                  supervising_dept="某部门"),
                    indicators=rows)


def _flags(doc: Document) -> dict[int, str]:
    return {i.seq: i.note for i in verify(doc).indicators if i.needs_review}


def test_a_lost_decimal_point_read_with_full_confidence_is_flagged():
    rows = [_row(k, "数量指标", "2.50", "2.50") for k in range(1, 6)]
    rows[2] = _row(3, "数量指标", "250", "2.50")
    flags = _flags(_doc(rows))
    assert list(flags) == [3] and "lost point" in flags[3]


def test_two_cells_read_as_one_are_flagged_not_parsed():
    rows = [_row(1, "数量指标", "2.50", "2.50", target="=100.00(%)100.00(%)", actual="=100.00(%)100.00(%)"),
            _row(2, "时效指标", "2.50", "2.50", target="及时及时", actual="及时及时"),
            _row(3, "质量指标", "2.50", "2.50", target="全年不少于2次", actual="3次")]
    rows.append(_row(4, "质量指标", "2.50", "2.50", target="=100.00(%)", actual="100.00(%)及时"))
    rows.append(_row(5, "质量指标", "2.50", "2.50", target="=0(起)", actual="0发生"))
    flags = _flags(_doc(rows))
    assert set(flags) == {1, 2, 4}
    assert "more than one value" in flags[1] and "twice" in flags[2] and "two cells read as one" in flags[4]


def test_two_blocks_weights_read_as_one_are_flagged_on_every_row_of_the_block():
    """A faint ruling between two 一级 blocks: their 权重 cells read as one, `3025`, carried by
    every row of the first block. No block's share of 100 points can be that."""
    rows = [_row(k, "数量指标", "2.50", "2.50", level1_weight=D("3025")) for k in (1, 2, 3)]
    rows.append(_row(4, "数量指标", "2.50", "2.50", level1_weight=D("25")))
    flags = _flags(_doc(rows))
    assert set(flags) == {1, 2, 3} and all("more than the form's 100 points" in flags[k] for k in flags)


def test_a_score_read_through_a_seal_is_flagged_even_when_its_figures_came_out_clean():
    """`5.00安`: the seal's character is dropped (`correct.seal_glyphs`), but a seal that covers a
    character may cover a digit too: the row is for a person to look at."""
    from pipeline.records import Correction

    rows = [_row(k, "数量指标", "5.00", "5.00") for k in (1, 2)]
    doc = _doc(rows).model_copy(update={"corrections": [
        Correction(page=1, seq=2, field="score", raw="5.00安", corrected="5.00", kind="seal_glyph")]})
    flags = _flags(doc)
    assert list(flags) == [2] and "seal" in flags[2]


def test_labels_outside_the_vocabulary_or_hierarchy_are_flagged():
    rows = [_row(1, "数量指", "2.50", "2.50"), _row(2, "社会效益指标", "2.50", "2.50"),
            _row(3, "数量指标", "2.50", "2.50", level1="波本指拆")]
    flags = _flags(_doc(rows))
    assert "not a 二级 label" in flags[1]
    assert "does not belong under 一级 产出指标" in flags[2]
    assert "not a 一级 label" in flags[3]


def test_a_sum_broken_by_a_flagged_row_is_a_reading_doubt_not_the_units_error():
    rows = [_row(k, "数量指标", "2.50", "2.50") for k in range(1, 6)]
    rows[2] = _row(3, "数量指标", "250", "2.50")
    verdict = assess(verify(_doc(rows)), default_catalogue(), 0.9)
    sums = [f for f in verdict.findings if f.rule_id == "I1" or (f.rule_id == "I3" and "产出指标" in f.message)]
    assert sums and all(f.severity == "warning" and f.reading and "row 3" in f.message for f in sums)
    assert verdict.status == "needs_review"


def test_garbled_closed_vocabulary_labels_snap_and_ambiguous_ones_do_not():
    LEVEL1, LEVEL2 = default_catalogue().vocabulary.level1, default_catalogue().vocabulary.level2
    assert snap("效益指就", LEVEL1) == "效益指标"
    assert snap("产出指所", LEVEL1) == "产出指标"
    assert snap("社会效益指林", LEVEL2) == "社会效益指标"
    assert snap("数量指", LEVEL2) == "数量指标"
    assert snap("可持续影照满意度指", LEVEL2) == ""  # two labels read as one
    assert snap("州", LEVEL1) == ""


def test_header_cells_ocr_garbled_take_their_columns_from_the_form_order():
    """A blurred photo's header: 年度指标值/全年完成值 run together, 分值 read `雅`, 得分 `粉分`,
    偏差… `解微`. The table is still found and every column placed."""
    from pipeline.forms.indicators import complete_columns, is_header
    from pipeline.forms.layout import Row, map_columns
    from pipeline.types import BBox, Cell

    texts = [("一级指标", 0, 100), ("权重", 100, 150), ("二级指标", 150, 250), ("三级指标", 250, 400),
             ("年度指标值全年完成值", 400, 600), ("雅", 600, 660), ("粉分", 660, 720), ("解微", 720, 900)]
    cells = tuple(Cell(page=1, row=0, col=k, text=t, bbox=BBox(x0, 0, x1, 40), engine="rapidocr")
                  for k, (t, x0, x1) in enumerate(texts))
    header = Row(page=1, cells=cells, first_on_page=False, left=0)
    roles = default_catalogue().columns.indicators
    assert is_header(header, default_catalogue())
    cols = complete_columns(header, map_columns(header, roles), tuple(roles))
    assert (cols["target"].x0, cols["target"].x1, cols["actual"].x0, cols["actual"].x1) == (400, 500, 500, 600)
    assert [cols[k].index for k in ("max_score", "score", "reason")] == [5, 6, 7]


def test_a_bracket_lost_at_the_cells_edge_or_a_doubled_sign_is_flagged():
    rows = [_row(1, "数量指标", "2.50", "2.50", target="≥220.00人次)", actual="230.00(人次)"),
            _row(2, "数量指标", "2.50", "2.50", target=">≥90.00(%)", actual="95.00(%)")]
    flags = _flags(_doc(rows))
    assert "bracket" in flags[1] and "two comparison signs" in flags[2]


def test_a_strict_sign_read_from_pixels_is_flagged_and_from_a_text_layer_is_not():
    """OCR drops the bar of ≥ with full confidence; a text layer's `>` is the unit's own sign."""
    scanned = {k: Provenance(page=1, confidence=0.99, engine="rapidocr") for k in ("target", "actual")}
    digital = {k: Provenance(page=1, confidence=1.0, engine="camelot") for k in ("target", "actual")}
    rows = [_row(1, "数量指标", "2.50", "2.50", target=">95.00(%)", provenance=scanned),
            _row(2, "数量指标", "2.50", "2.50", target="≥95.00(%)", provenance=scanned),
            _row(3, "数量指标", "2.50", "2.50", target="<5次", provenance=scanned),
            _row(4, "数量指标", "2.50", "2.50", target=">95.00(%)", provenance=digital)]
    flags = _flags(_doc(rows))
    assert set(flags) == {1, 3} and "bar lost" in flags[1]


def test_an_input_block_label_running_on_over_later_rows_is_flagged():
    """Each 投入管理 二级 is one row; a lost ruling below 预算信息化 carried it onto 产出 rows."""
    rows = [_row(k, l2, "1.50", "1.50", level1="投入管理指标", level3="", target="", actual="")
            for k, l2 in enumerate(["预算透明度", "内部控制管理", "预算信息化", "预算信息化"], 1)]
    flags = _flags(_doc(rows))
    assert list(flags) == [4] and "second row" in flags[4]


def test_a_header_label_and_its_value_in_one_cell_still_give_the_field():
    """`实施单位上海市…中心` in one cell (the ruling between label and value not found)."""
    from pipeline.forms.fields import FieldReader
    from pipeline.forms.header import read_header
    from pipeline.forms.layout import Row
    from pipeline.types import Cell

    row = Row(page=1, cells=(Cell(page=1, row=0, col=0, text="主管部门"), Cell(page=1, row=0, col=1, text="某区某局"),
                             Cell(page=1, row=0, col=2, text="实施单位某区某中心")), first_on_page=False)
    header = read_header([row], "project", FieldReader(), default_catalogue())
    assert (header.supervising_dept, header.unit_name) == ("某区某局", "某区某中心")


def test_a_header_value_in_pieces_is_read_whole_and_flagged():
    """A ruling the grid put through a 主管部门 value cut it in two cells; the first alone was a name
    cut short (`上海市青浦区`). The pieces up to the next label are the value, and a person is asked."""
    from pipeline.checks.registry import check
    from pipeline.forms.fields import FieldReader
    from pipeline.forms.header import read_header
    from pipeline.forms.layout import Row
    from pipeline.types import Cell

    texts = ["主管部门", "上海市青浦区", "朱家角镇人民政府", "实施单位", "上海市青浦区朱家角镇社区卫生服务中心"]
    row = Row(page=1, cells=tuple(Cell(page=1, row=0, col=i, text=t) for i, t in enumerate(texts)),
              first_on_page=False)
    reader = FieldReader()
    header = read_header([row], "project", reader, default_catalogue())
    assert header.supervising_dept == "上海市青浦区朱家角镇人民政府"
    assert header.unit_name == "上海市青浦区朱家角镇社区卫生服务中心"
    doc = _doc([_row(1, "数量指标", "2.50", "2.50")]).model_copy(update={
        "header": header.model_copy(update={"project_name": "某项目", "year": 2021}),
        "corrections": reader.corrections})
    flagged = {(f.rule_id, f.field) for f in check(doc, default_catalogue())}
    assert ("H2", "header.supervising_dept") in flagged and ("H2", "header.unit_name") not in flagged


def test_a_unit_name_cut_short_is_flagged_for_review():
    """A wrapped second line lost (`…城市运行管理` for `…城市运行管理中心`): the name does not end like
    a body's, and the document needs review instead of going out `ok` with the name cut."""
    from pipeline.checks.assess import assess
    from pipeline.records import Header

    header = Header(form_type="project", year=2023, project_name="某项目", supervising_dept="上海市某区某镇人民政府",
                    unit_name="上海市某区某镇城市运行管理")
    doc = assess(_doc([_row(1, "数量指标", "2.50", "2.50")]).model_copy(update={"header": header}),
                 default_catalogue(), 0.9)
    assert [f.field for f in doc.findings if f.rule_id == "H2"] == ["header.unit_name"]
    assert doc.status == "needs_review"
    whole = header.model_copy(update={"unit_name": "上海市某区某镇城市运行管理中心"})
    assert not [f for f in assess(doc.model_copy(update={"header": whole, "findings": []}),
                                  default_catalogue(), 0.9).findings if f.rule_id == "H2"]


def test_one_money_column_read_under_two_headers_is_flagged():
    from pipeline.records import FundingLine

    lines = [FundingLine(item=item, budget=D(v), executed=D(v), execution_rate=D(r))
             for item, v, r in (("财政拨款", "2196657.46", "96.74"), ("其他资金", "76334.74", "96.84"))]
    doc = _doc([_row(1, "数量指标", "2.50", "2.50")]).model_copy(update={"funding": lines})
    assert all(f.needs_review for f in verify(doc).funding)
    honest = [f.model_copy(update={"execution_rate": D("100.00")}) for f in lines]  # all spent: same figures, rightly
    assert not any(f.needs_review for f in verify(doc.model_copy(update={"funding": honest})).funding)


def test_a_group_sum_is_not_blamed_on_the_unit_while_a_row_label_is_in_doubt():
    """A 满意度 row whose 二级 was misread lands in no group: 满意度's Σ分值 falls short, though
    every row it holds is read well."""
    rows = [_row(1, "数量指标", "50.00", "50.00", level1="产出指标"),
            _row(2, "社会效益指标", "30.00", "30.00", level1="效益指标"),
            _row(3, "服务对象满意度指标", "5.00", "5.00", level1="满意度指标"),
            _row(4, "可持续影照满意度指", "5.00", "5.00", level1="效益指标")]
    verdict = assess(verify(_doc(rows)), default_catalogue(), 0.9)
    sums = [f for f in verdict.findings if f.rule_id in ("I1", "I3")]
    assert sums and all(f.severity == "warning" and f.reading for f in sums)


def test_a_block_cut_by_a_page_break_takes_its_label_from_the_part_that_prints_it():
    """质量指标's first two rows end page 1 under an empty 二级 cell (the label is printed once,
    on page 2): they are 质量指标 rows, not more rows of the 数量指标 block above."""
    from pipeline.forms.fields import FieldReader
    from pipeline.forms.indicators import read_indicator_table
    from pipeline.forms.layout import Row
    from pipeline.types import Cell

    def row(page, *texts):
        cells = tuple(Cell(page=page, row=0, col=k, text=t, engine="rapidocr") for k, t in enumerate(texts))
        return Row(page=page, cells=cells, first_on_page=False)

    rows = [row(1, "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"),
            row(1, "产出指标", "数量指标", "甲", "=1(个)", "1(个)", "2.00", "2.00"),
            row(1, "产出指标", "", "乙", "=100.00(%)", "100.00(%)", "2.00", "2.00"),
            row(1, "产出指标", "", "丙", "=100.00(%)", "100.00(%)", "2.00", "2.00"),
            row(2, "产出指标", "质量指标", "丁", "=100.00(%)", "100.00(%)", "2.00", "2.00")]
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    assert [i.level2 for i in table.indicators] == ["数量指标", "质量指标", "质量指标", "质量指标"]


def test_a_cell_covering_two_columns_the_form_keeps_apart_flags_its_row():
    """The ruling between a 二级 label and its first 三级 cell lost: one cell holds both texts,
    interleaved. The row is flagged; the 投入管理 note, which spans 三级 to 完成值, is not."""
    from pipeline.forms.fields import FieldReader
    from pipeline.forms.indicators import read_indicator_table
    from pipeline.forms.layout import Row
    from pipeline.types import BBox, Cell

    edges = [0, 100, 200, 400, 500, 600, 660, 720]

    def row(y, *texts, spans=None):
        spans = spans or {}
        cells, k = [], 0
        while k < len(texts):
            width = spans.get(k, 1)
            cell = Cell(page=1, row=y, col=k, text=texts[k], bbox=BBox(edges[k], y * 40, edges[k + width], y * 40 + 40),
                        engine="rapidocr")
            cells.extend([cell] * width)
            k += width
        return Row(page=1, cells=tuple(cells), first_on_page=False, left=0)

    rows = [row(0, "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"),
            row(1, "投入管理指标", "预算编制", "根据沪财绩【2022】13号文的规定要求设置三级指标和指标值", "", "", "2.00", "2.00",
                spans={2: 3}),
            row(2, "效益指标", "社会效益指标", "甲", "=1(个)", "1(个)", "2.00", "2.00"),
            row(3, "效益指标", "文化阵地长效可持续影响管理机制", "", "=1(个)", "1(个)", "2.00", "2.00", spans={1: 2})]
    table = read_indicator_table(rows, 0, "project", FieldReader(), default_catalogue())
    flagged = {i.seq: i.note for i in table.indicators if i.needs_review}
    assert list(flagged) == [3] and "二级 and 三级 read as one cell" in flagged[3]


def test_a_target_without_the_sign_its_column_writes_is_flagged():
    """`=4.00(份)` read `4.00(份)`: the sign sat on the cell's left edge. Where the table writes no
    signs, or the target is words (`0发生`), nothing is flagged."""
    signed = [_row(k, "数量指标", "2.50", "2.50", target=f"={k}.00(个)", actual=f"{k}.00(个)") for k in range(1, 5)]
    signed += [_row(5, "数量指标", "2.50", "2.50", target="4.00(份)", actual="4.00(份)"),
               _row(6, "质量指标", "2.50", "2.50", target="0发生", actual="0发生")]
    flags = _flags(_doc(signed))
    assert list(flags) == [5] and "no sign" in flags[5]
    plain = [_row(k, "数量指标", "2.50", "2.50", target=f"{k}.00(个)", actual=f"{k}.00(个)") for k in range(1, 6)]
    assert _flags(_doc(plain)) == {}


def test_a_cell_reaching_past_a_narrow_columns_middle_does_not_hold_it():
    """A photo's page-2 cell, placed under a header read at another perspective, reaches past the
    middle of the narrow 权重 column beside it: it holds 一级 only. Covering most of both, it holds both."""
    from pipeline.forms.indicators import _joined_columns
    from pipeline.forms.layout import Column, Row
    from pipeline.types import BBox, Cell

    cols = {"level1": Column(0, 0, 100, 0), "weight": Column(1, 100, 140, 0), "level2": Column(2, 140, 260, 0)}

    def row(x0, x1):
        return Row(page=2, cells=(Cell(page=2, row=0, col=0, text="产出指标", bbox=BBox(x0, 0, x1, 40)),),
                   first_on_page=False, left=0)

    assert _joined_columns(row(0, 125), cols) == []
    assert _joined_columns(row(0, 140), cols) == ["level1", "weight"]
