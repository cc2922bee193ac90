"""一级指标 from 二级指标: the fixed hierarchy of the national indicator framework.

Text extractions lose merged cells: a 一级 label sits on one line of its block, sometimes in the
middle, sometimes only on the next page (seed 004 prints 产出指标 on page 2 only). Forward-filling
that label would put twelve 产出 rows under 投入管理. The 二级 name decides instead.
"""

from __future__ import annotations

from difflib import SequenceMatcher

LEVEL1 = ("投入管理指标", "成本指标", "产出指标", "效益指标", "满意度指标")

LEVEL2_TO_LEVEL1: dict[str, str] = {
    "预算编审管理": "投入管理指标",
    "预算执行管理": "投入管理指标",
    "预算绩效管理": "投入管理指标",
    "资产管理": "投入管理指标",
    "预算透明度": "投入管理指标",
    "内部控制管理": "投入管理指标",
    "预算信息化": "投入管理指标",
    "经济成本指标": "成本指标",
    "社会成本指标": "成本指标",
    "生态环境成本指标": "成本指标",
    "数量指标": "产出指标",
    "质量指标": "产出指标",
    "时效指标": "产出指标",
    "经济效益指标": "效益指标",
    "社会效益指标": "效益指标",
    "生态效益指标": "效益指标",
    "可持续影响指标": "效益指标",
    "服务对象满意度指标": "满意度指标",
}


def canonical_level1(text: str) -> str:
    for name in LEVEL1:
        if name in text or (len(text) >= 2 and text in name):
            return name
    return text


def level1_for(level2: str, form_type: str) -> str:
    """The 一级 a 二级 belongs to; 成本 二级 sit under 产出 in forms without a 成本 一级 column block."""
    parent = LEVEL2_TO_LEVEL1.get(level2, "")
    if parent == "成本指标" and form_type == "unit_overall":
        return "产出指标"
    return parent


def is_level2(text: str) -> bool:
    return text in LEVEL2_TO_LEVEL1


def snap(text: str, vocabulary: tuple[str, ...], min_ratio: float = 0.6, margin: float = 0.1) -> str:
    """The vocabulary word an OCR'd label stands for, or "" when none clearly does.

    Labels of these levels are a closed vocabulary, and OCR slips on a character or two at a
    label's end (`效益指就`, `社会效益指林`, `数量指`). A label snaps to the word it shares most
    characters with (difflib ratio ≥ `min_ratio`) only when the next word is `margin` behind and
    three quarters of the text is in the word; two labels read as one snap to none.
    """
    if text in vocabulary:
        return text
    scores = sorted(((SequenceMatcher(None, text, w).ratio(), w) for w in vocabulary), reverse=True)
    best, word = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    # Most of what was read must be in the word: a label with as much again of something else
    # is two labels (`可持续影照满意度指` shares only 可持续影…指 with 可持续影响指标).
    shared = sum(block.size for block in SequenceMatcher(None, text, word).get_matching_blocks())
    clear = best >= min_ratio and best - runner_up >= margin and shared >= 0.75 * len(text)
    return word if clear else ""


LEVEL2 = tuple(LEVEL2_TO_LEVEL1)
