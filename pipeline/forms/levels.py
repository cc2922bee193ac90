"""An OCR'd 一级/二级 label → the word of the indicator framework it stands for, or none.

The framework's labels are a closed vocabulary (the catalogue's `vocabulary`, with the 一级 each
二级 belongs to). Text extractions lose merged cells: a 一级 label sits on one line of its block,
sometimes in the middle, sometimes only on the next page (seed 004 prints 产出指标 on page 2 only).
Forward-filling that label would put twelve 产出 rows under 投入管理: the 二级 name decides instead
(`Catalogue.level1_for`).

The table reader's label steps live here too, each logged in corrections.csv: a label snapped
(`snapped`), a 一级 label read with its 权重 (`weight_in_label`), a garbled 一级 beside a known
二级 (`level1_of_level2`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from difflib import SequenceMatcher

from ..records import Correction, Provenance
from .catalog import Catalogue
from .fields import FieldReader


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


def snapped(
    reader: FieldReader, page: int, seq: int, name: str, text: str, vocabulary: tuple[str, ...],
    prov: dict[str, Provenance],
) -> str:
    """A 一级/二级 label snapped to the forms' vocabulary (`levels.snap`), the change logged;
    a label that snaps to nothing is kept as read (the verifier flags it)."""
    word = snap(text, vocabulary) if text else ""
    if not word or word == text:
        return text
    confidence = prov[name].confidence if name in prov else 1.0
    reader.corrections.append(Correction(page=page, seq=seq, field=name, raw=text, corrected=word,
                                         kind="lexicon", confidence=confidence))
    return word


_LABEL_AND_WEIGHT = re.compile(r"^(\D*[\u3400-\u9fff])\s*(\d{1,2}(?:\.\d+)?)$")


def weight_in_label(
    reader: FieldReader, page: int, seq: int, text: str, prov: dict[str, Provenance]
) -> tuple[str, Decimal | None]:
    """A 一级 label read with its 权重 after it (`投入管30`: the ruling between the two columns lost,
    one cell read over both) → the label and the weight, the split logged; else the text as it
    is and no weight."""
    m = _LABEL_AND_WEIGHT.match(text.replace("\n", ""))
    if not m:
        return text, None
    reader.corrections.append(Correction(page=page, seq=seq, field="level1", raw=text,
                                         corrected=f"{m.group(1)} | {m.group(2)}", kind="merged_columns",
                                         confidence=prov["level1"].confidence if "level1" in prov else 1.0))
    if "level1" in prov:
        prov["weight"] = prov["level1"]
    return m.group(1), Decimal(m.group(2))


def level1_of_level2(
    reader: FieldReader, page: int, seq: int, level1: str, level2: str, form_type: str, catalogue: Catalogue,
    prov: dict[str, Provenance],
) -> str:
    """A 一级 label that is no word of the framework (`微生物` for a garbled 效益指标), beside a 二级
    label that is: the 一级 that 二级 belongs to on this form, the change logged. The framework
    puts each 二级 under one 一级, so the 二级 read in the same row says which it is."""
    if not level1 or level1 in catalogue.vocabulary.level1 or level2 not in catalogue.vocabulary.level2_to_level1:
        return level1
    word = catalogue.level1_for(level2, form_type)
    reader.corrections.append(Correction(page=page, seq=seq, field="level1", raw=level1, corrected=word,
                                         kind="lexicon", confidence=prov["level1"].confidence if "level1" in prov else 1.0))
    return word
