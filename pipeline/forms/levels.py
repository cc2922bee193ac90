"""An OCR'd 一级/二级 label → the word of the indicator framework it stands for, or none.

The framework's labels are a closed vocabulary (the catalogue's `vocabulary`, with the 一级 each
二级 belongs to). Text extractions lose merged cells: a 一级 label sits on one line of its block,
sometimes in the middle, sometimes only on the next page (seed 004 prints 产出指标 on page 2 only).
Forward-filling that label would put twelve 产出 rows under 投入管理: the 二级 name decides instead
(`Catalogue.level1_for`).
"""

from __future__ import annotations

from difflib import SequenceMatcher


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

