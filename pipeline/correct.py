"""Post-correction of what OCR and text extraction get wrong, every change audited.

Each step is small and conservative; a step that changes the text returns a `Change`
(kind, before, after) that the form builder turns into a `corrections.csv` row once it knows
the row and field. Nothing here guesses: look-alike characters are replaced only when the
result is a known word of these forms (the lexicon) and the raw text is not.

Field kinds decide which steps apply:
- ``number``: a single numeric cell (分值, 得分, amounts, rates);
- ``measure``: a target/actual cell (`=100.00(%)`, `≤350元/月`, `合格`);
- ``name``: labels and indicator names (keeps （） around Chinese words);
- ``text``: free text (deviation reasons, titles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from opencc import OpenCC

FieldKind = Literal["number", "measure", "name", "text"]

CJK = r"\u3400-\u9fff"
_CJK_RE = re.compile(f"[{CJK}]")

# The vocabulary of these forms: headers, funding labels, indicator levels. A look-alike fix is
# accepted only when it produces one of these words.
LEXICON: tuple[str, ...] = (
    "部门（单位）整体支出绩效自评表", "项目支出绩效自评表", "整体支出预算绩效自评报告",
    "一级指标", "权重", "二级指标", "三级指标", "年度指标值", "全年完成值", "实际完成值", "分值", "得分",
    "偏差及原因分析", "偏差原因分析及改进措施", "偏差原因分析", "年初预算数", "全年预算数", "全年执行数",
    "执行率", "项目名称", "主管部门", "实施单位", "项目资金", "整体支出规模", "单位名称", "年度总体目标",
    "年初设定目标", "预期目标", "全年完成情况", "实际完成情况", "分解目标自评", "总分",
    "年度资金总额", "当年财政拨款", "上年结转资金", "其他资金", "财政拨款", "基本支出", "项目支出",
    "人员经费", "公用经费", "资金来源", "资金结构",
    "投入管理指标", "成本指标", "产出指标", "效益指标", "满意度指标",
    "预算编审管理", "预算执行管理", "预算绩效管理", "资产管理", "预算透明度", "内部控制管理", "预算信息化",
    "经济成本指标", "社会成本指标", "生态环境成本指标", "数量指标", "质量指标", "时效指标",
    "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标", "服务对象满意度指标",
    "达成指标", "达成年度指标", "部分达成年度指标并具有一定效果", "未达成年度指标且效果较差",
)

# Look-alike pairs seen on real scans of these forms (wrong → right). Only used through the lexicon.
CONFUSABLES: dict[str, str] = {
    "授": "拨", "万": "项", "汉": "项", "壁": "差", "数": "值", "兒": "党", "儿": "党",
    "土": "士", "未": "末", "己": "已", "曰": "日", "目": "自",
}

OPERATORS = {">=": "≥", "<=": "≤", "＞": ">", "＜": "<", "＝": "=", "≧": "≥", "≦": "≤"}


@dataclass(frozen=True)
class Change:
    kind: str
    before: str
    after: str


@dataclass(frozen=True)
class Corrected:
    text: str
    changes: tuple[Change, ...]


@lru_cache(maxsize=1)
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def _is_traditional_only(ch: str) -> bool:
    """A character outside GB2312 that OpenCC maps elsewhere: never right on a simplified form.

    Gating on GB2312 keeps characters such as 著/乾/後 — valid simplified text that a blind
    t2s pass would rewrite — untouched.
    """
    try:
        ch.encode("gb2312")
        return False
    except UnicodeEncodeError:
        return _t2s().convert(ch) != ch


def to_simplified(text: str) -> str:
    return "".join(_t2s().convert(c) if _is_traditional_only(c) else c for c in text)


_GARBAGE_MARKUP = re.compile(r"</?u>|</?b>|</?i>")
# Letters and symbols that never belong in these Chinese forms: Latin-1/extended accented letters,
# superscripts, box-drawing, ballot boxes and tick marks (a pen mark beside a cell's text), replacement characters.
_GARBAGE_CHARS = re.compile(r"[\u00c0-\u024f\u00b2\u00b3\u00b9\u2070-\u209f\u2500-\u259f\u2610-\u2612\u2713-\u2718\ufffd]")
# A whole token without CJK, digits or a unit: ruling fragments `_`, `|`, `,,,`, stamp noise `A (T=)`.
_GARBAGE_TOKEN = re.compile(r"^(?![,;:]$)[_\-|,.;:'`~^=()\[\]{}<>/\\!?*#@&$A-Za-z]+$")


def strip_garbage(text: str, kind: FieldKind) -> str:
    text = _GARBAGE_MARKUP.sub(" ", text)
    text = _GARBAGE_CHARS.sub("", text)
    if kind in ("name", "text"):
        tokens = text.split()
        has_cjk = any(_CJK_RE.search(t) for t in tokens)
        text = " ".join(t for t in tokens if not (_GARBAGE_TOKEN.match(t) and (has_cjk or len(t) <= 2)))
    return text


_SPACED_DIGITS = re.compile(r"(?<=\d)\s*([.,])\s+(?=\d)|(?<=\d)\s+([.,])(?=\d)")


def join_spaced_digits(text: str) -> str:
    """`7. 50` → `7.50`, `275, 112, 698. 88` → `275,112,698.88` (separators are never spaced)."""
    return _SPACED_DIGITS.sub(lambda m: m.group(1) or m.group(2), text)


_DECIMAL_COMMA = re.compile(r"^(\d+)\s*[,，]\s*\.?\s*(\d{1,2})$")


def decimal_comma(text: str) -> str:
    """`7,50` / `7,.50` → `7.50`: a comma followed by one or two digits that end the number is a
    decimal point read as a comma (a thousands comma is followed by three)."""
    return _DECIMAL_COMMA.sub(r"\1.\2", text.strip())


_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?=\.\d|\b|[^\d,])")
_DEGREE_PERCENT = re.compile(r"(?<=\d)[°º˚]%?(?=$|[)）])")


def degree_percent(text: str) -> str:
    """`100°%` → `100%`, `94.68°` → `94.68%`: on a 1-bit scan the `%` falls apart and its upper
    ring is read as a degree sign (the forms' values carry no degrees)."""
    return _DEGREE_PERCENT.sub("%", text)


_UNIT_OPEN_LOST = re.compile(r"^([=≥≤<>]?\d+(?:\.\d+)?)([^\d()（）.]+)[)）]$")
_UNIT_CLOSE_LOST = re.compile(r"^([=≥≤<>]?\d+(?:\.\d+)?)[(（]([^\d()（）.]+)$")


def unit_brackets(text: str) -> str:
    """`≥220.00人次)` → `≥220.00(人次)`, `11.00(份` → `11.00(份)`: a value's unit is written in
    brackets; one bracket of the pair lost to the scan is put back."""
    text = _UNIT_OPEN_LOST.sub(r"\1(\2)", text)
    return _UNIT_CLOSE_LOST.sub(r"\1(\2)", text)


_POINTED_THOUSANDS = re.compile(r"^(\d{1,3}(?:[.,]\d{3})+)(\.\d{1,2})$")


def pointed_thousands(text: str) -> str:
    """`5.234.224.80` → `5,234,224.80`: an amount with more than one point had its thousands
    commas read as points (a number has one decimal point; the groups before it are of three)."""
    m = _POINTED_THOUSANDS.match(text.strip())
    if not m or m.group(1).count(".") == 0:
        return text
    return m.group(1).replace(".", ",") + m.group(2)


def drop_thousands(text: str) -> str:
    return _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)


_SPECK_AFTER_UNIT = re.compile(r"([)）%])\s*[.。,，·'`]+$")
_SPECK_AFTER_DECIMALS = re.compile(r"(\d\.\d+)\s*[.。,，·'`]+(?=[(（]|$)")
_DOUBLED_POINT = re.compile(r"(?<=\d)\.{2,}(?=\d)")


def specks(text: str) -> str:
    """`98.50(%).` → `98.50(%)`, `21,680,380.36.` → `21,680,380.36`, `100.00.(%)` → `100.00(%)`,
    `≥90..00(%)` → `≥90.00(%)`: a dot after a value's closing unit or after its decimals (before
    its unit or at its end), or a second point inside a number, is a
    speck of the scan read as punctuation (a value's text never ends in one, a number has one point)."""
    text = _SPECK_AFTER_DECIMALS.sub(r"\1", _SPECK_AFTER_UNIT.sub(r"\1", text))
    return _DOUBLED_POINT.sub(".", text)


_SEAL_CHAR = rf"(?![万元])[{CJK}]"  # a money unit written in the cell is not the seal's
_WORDS_ON_A_NUMBER = re.compile(rf"^(?=.*{_SEAL_CHAR})(?:{_SEAL_CHAR}){{0,2}}\s*(\d[\d,]*(?:\.\d+)?%?)\s*(?:{_SEAL_CHAR}){{0,2}}$")
_COLON_POINT = re.compile(r"^(\d+)[:：](\d{2})$")


def seal_glyphs(text: str) -> str:
    """`5.00安` → `5.00`, `话4.50` → `4.50`: a number cell (分值, 得分, an amount) holds no words;
    one or two characters at its ends are the seal's, stamped over the cell and read with its
    figures (a seal is black on a 1-bit scan). The cell keeps its low reading confidence."""
    m = _WORDS_ON_A_NUMBER.match(text.strip())
    return m.group(1) if m else text


def colon_point(text: str) -> str:
    """`100:00` → `100.00`: a decimal point with a speck above it is read as a colon."""
    return _COLON_POINT.sub(r"\1.\2", text.strip())


_CHINESE_PUNCT_KEEP = set("！，：；？")


def fold_width(text: str, kind: FieldKind) -> str:
    """Full-width ASCII → half-width, except Chinese punctuation, and （） in names and text."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\u3000":
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E and ch not in _CHINESE_PUNCT_KEEP and not (
            kind in ("name", "text") and ch in "（）"
        ):
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    text = "".join(out)
    for raw, op in OPERATORS.items():
        text = text.replace(raw, op)
    return text


def chinese_punctuation(text: str) -> str:
    """In Chinese text, ASCII punctuation between Chinese words and quotes around them become Chinese."""
    text = re.sub(r'""([^"]+)""', r"“\1”", text)
    text = re.sub(r'"([^"]*[' + CJK + r'][^"]*)"', r"“\1”", text)
    text = re.sub(f"(?<=[{CJK}])\\s*,\\s*(?=[{CJK}])", "，", text)
    text = re.sub(f"(?<=[{CJK}])\\s*;\\s*(?=[{CJK}])", "；", text)
    text = re.sub(f"(?<=[{CJK}])\\s*:\\s*(?=[{CJK}“])", "：", text)
    text = re.sub(f"[(（]([{CJK}][^()（）]*)[)）]", r"（\1）", text)
    return text


def remove_layout_spaces(text: str) -> str:
    """Line wraps and layout gaps are spaces between characters of one cell: drop them.

    A space survives only between two Latin letters (`PM 2.5` style words are not on these forms,
    but English names would be).
    """
    text = re.sub(r"\s+", " ", text.strip())
    return re.sub(r"(?<![A-Za-z]) | (?![A-Za-z])", "", text)


@lru_cache(maxsize=1)
def _lexicon_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One regex per lexicon word, each correctable character widened to its look-alikes."""
    wrongs: dict[str, str] = {}
    for wrong, right in CONFUSABLES.items():
        wrongs[right] = wrongs.get(right, "") + wrong
    out = []
    for word in sorted(LEXICON, key=len, reverse=True):
        if len(word) < 2 or not any(c in wrongs for c in word):
            continue
        pattern = "".join(f"[{re.escape(c + wrongs[c])}]" if c in wrongs else re.escape(c) for c in word)
        out.append((word, re.compile(pattern)))
    return tuple(out)


def lexicon_fix(text: str) -> str:
    """Replace look-alikes inside a word only when the result is a lexicon word and the raw is not."""
    for word, pattern in _lexicon_patterns():
        if word in text:
            continue

        def fix(m: re.Match[str], word: str = word) -> str:
            diffs = sum(a != b for a, b in zip(m.group(0), word))
            return word if diffs <= max(1, len(word) // 4) else m.group(0)

        text = pattern.sub(fix, text)
    return text


@lru_cache(maxsize=65536)
def correct(raw: str, kind: FieldKind) -> Corrected:
    """Run the post-correction steps for one cell; return the cleaned text and each change made."""
    changes: list[Change] = []

    def step(kind_name: str, fn, text: str) -> str:
        new = fn(text)
        if new != text:
            changes.append(Change(kind_name, text, new))
        return new

    text = raw.replace("\r", " ").replace("\n", " ").strip()
    text = step("garbage", lambda t: strip_garbage(t, kind), text)
    text = step("traditional_to_simplified", to_simplified, text)
    text = step("full_width", lambda t: fold_width(t, kind), text)
    text = step("spaced_digits", join_spaced_digits, text)
    if kind == "number":
        text = step("seal_glyph", seal_glyphs, text)
        text = step("punctuation", colon_point, text)
        text = step("punctuation", decimal_comma, text)
        text = step("punctuation", pointed_thousands, text)
    if kind in ("number", "measure"):
        text = step("confusable_char", degree_percent, text)
        text = step("thousands_separator", drop_thousands, text)
        text = step("speck", specks, text)
    if kind == "measure":
        text = step("punctuation", unit_brackets, text)
    before = re.sub(r"\s+", " ", text.strip())
    text = remove_layout_spaces(text)
    if text != before and re.search(f"[{CJK}] [{CJK}]", before):
        changes.append(Change("wrap_join", before, text))
    if kind in ("name", "text"):
        text = step("lexicon", lexicon_fix, text)
        text = step("punctuation", chinese_punctuation, text)
    return Corrected(text, tuple(changes))


_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def parse_decimal(text: str) -> Decimal | None:
    """A cleaned numeric cell → Decimal, keeping the digits as written; `—`/`-`/empty → None."""
    t = text.strip().rstrip("%％").strip()
    if not _NUMBER.match(t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


_MEASURE = re.compile(r"^(?P<op>[=≥≤><])?(?P<num>-?\d+(?:\.\d+)?)(?P<unit>.*)$")


def parse_measure(text: str) -> tuple[str, Decimal | None, str]:
    """`=100.00(%)` → ('=', 100.00, '%'); `≤350元/月` → ('≤', 350, '元/月'); `合格` → ('', None, '')."""
    m = _MEASURE.match(text)
    if not m:
        return "", None, ""
    unit = m.group("unit").strip()
    if len(unit) >= 2 and unit[0] in "(（" and unit[-1] in ")）":
        unit = unit[1:-1].strip()
    if re.search(r"[\d()（）]", unit):
        return "", None, ""
    return m.group("op") or "", Decimal(m.group("num")), unit


def split_values(text: str) -> list[str]:
    """A funding cell that holds the values of several merged rows (`459.80 0.00`) → its tokens."""
    return [t for t in join_spaced_digits(fold_width(text, "number")).split() if t]
