"""Post-correction: each kind of real OCR damage is undone, and nothing is invented."""

from decimal import Decimal

import pytest

from pipeline.correct import correct, parse_decimal, parse_measure, split_values


@pytest.mark.parametrize(
    ("raw", "kind", "expected", "change"),
    [
        ("7. 50", "number", "7.50", "spaced_digits"),
        ("275, 112, 698. 88", "number", "275112698.88", "thousands_separator"),
        ("=100. 00 (%)", "measure", "=100.00(%)", "spaced_digits"),
        ("=2.00(項)", "measure", "=2.00(项)", "traditional_to_simplified"),
        ("其中:当年財政授款", "name", "其中：当年财政拨款", "lexicon"),
        ("万 目名称", "name", "项目名称", "lexicon"),
        ("偏 <u></u> 壁原因分析", "name", "偏差原因分析", "garbage"),
        ("社区工作者培训 工作完成率", "name", "社区工作者培训工作完成率", "wrap_join"),
        ('"双报到""双报告"完成率', "name", "“双报到”“双报告”完成率", "punctuation"),
        ('""两新""党员', "name", "“两新”党员", "punctuation"),
        ("A (T=) 年度资 金总额", "name", "年度资金总额", "garbage"),
        ("（%）", "measure", "(%)", "full_width"),
        ("7,50", "number", "7.50", "punctuation"),  # a decimal point read as a comma
        ("7,.50", "number", "7.50", "punctuation"),
        ("98.50(%).", "measure", "98.50(%)", "speck"),  # a speck after the unit read as a full stop
        ("≥90..00(%)", "measure", "≥90.00(%)", "speck"),
        ("21,680,380.36.", "number", "21680380.36", "speck"),  # and after the decimals of an amount
        ("100.00.(%)", "measure", "100.00(%)", "speck"),  # and between the decimals and the unit
        ("5.234.224.80", "number", "5234224.80", "punctuation"),  # thousands commas read as points
        ("16,285.200.58", "number", "16285200.58", "punctuation"),
        ("100°%", "measure", "100%", "confusable_char"),  # a 1-bit scan's % read as a degree sign
        ("94.68°", "measure", "94.68%", "confusable_char"),
        ("≥220.00人次)", "measure", "≥220.00(人次)", "punctuation"),  # a unit bracket lost
        ("11.00(份", "measure", "11.00(份)", "punctuation"),
        ("5.00安", "number", "5.00", "seal_glyph"),  # a black seal's character read with the figures
        ("话4.50", "number", "4.50", "seal_glyph"),
        ("100:00", "number", "100.00", "punctuation"),  # a point with a speck above it read as a colon
    ],
)
def test_real_damage_is_undone_and_audited(raw, kind, expected, change):
    result = correct(raw, kind)
    assert result.text == expected
    assert change in [c.kind for c in result.changes]


def test_lookalike_is_not_replaced_outside_a_known_word():
    # 授 is a look-alike of 拨 only inside 财政拨款; in 授课 it is right and must stay.
    assert correct("开展授课活动", "text").text == "开展授课活动"
    # Valid simplified characters that a blind traditional→simplified pass would rewrite.
    assert correct("效果显著", "text").text == "效果显著"


def test_clean_text_is_left_alone():
    result = correct("服务群众水平提升", "name")
    assert result.text == "服务群众水平提升" and result.changes == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=100.00(%)", ("=", Decimal("100.00"), "%")),
        ("≤350元/月", ("≤", Decimal("350"), "元/月")),
        ("15个", ("", Decimal("15"), "个")),
        ("100%", ("", Decimal("100"), "%")),
        ("≥3500.00(人)", ("≥", Decimal("3500.00"), "人")),
        ("合格", ("", None, "")),
        ("0发生", ("", Decimal("0"), "发生")),
        ("=100(%)以上", ("", None, "")),
        ("全年不少于4次", ("", None, "")),
    ],
)
def test_measure_parsing(text, expected):
    assert parse_measure(text) == expected


def test_numbers_keep_their_digits():
    assert str(parse_decimal("7.50")) == "7.50"
    assert parse_decimal("100.00%") == Decimal("100.00")
    assert parse_decimal("—") is None
    assert split_values("459. 80 0. 00") == ["459.80", "0.00"]


def test_a_money_unit_written_in_an_amount_cell_is_not_taken_for_a_seal():
    assert correct("12.5万元", "number").text == "12.5万元"
    assert correct("安", "number").text == "安"
