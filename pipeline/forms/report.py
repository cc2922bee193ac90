"""The narrative 自评报告: which pages are narrative, its header, and its figures (facts).

A report states the same money as its table, in 万元 and in running text (`整体预算总额 2,885.53
万元`). Each fact keeps the sentence it came from so a reviewer sees the evidence beside it, and the
line it was read on (page, box, OCR confidence) as its provenance.

Facts are found by label patterns written after the report template (财预〔2020〕10号 style reports
word these sentences alike), on post-corrected paragraph text: the first statement of a key wins, a
figure qualified by a part of the budget (`项目支出执行率 99.81%`) is not the whole budget's, and a
target (`目标：满意度达到 90%`) is not a result. Besides the contract's eleven money/staff keys a
report's two usual result claims are kept, `satisfaction_rate` and `coverage_rate`, with the figure as
printed (`满意度超过 90%` → 90: the wording is in `text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from ..correct import correct
from ..records import Correction, Fact, Header, Provenance
from ..types import TableGrid
from .catalog import Catalogue
from .header import detect_form, read_report_header
from .layout import document_rows
from .narrative import Line, Paragraph, drop_furniture, page_lines, paragraphs

NUM = r"(\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
MONEY = r"\s*(万元|亿元|元)"
PERCENT = r"\s*[%％]"
LINK = r"\s*(?:为|是|达|共|计|合计|共计|总计|约|：|:)?\s*"
CLAIM = r"\s*(?:为|是|达到|达|超过|高于|不低于|保持在|均在|在)?\s*"
# A figure of one part of the budget is not the whole budget's (all four-character labels: the
# look-behind must be fixed-width).
WHOLE = "".join(f"(?<!{part})" for part in ("基本支出", "项目支出", "人员经费", "公用经费", "财政拨款", "其他资金"))
TARGET_WORDS = re.compile(r"目标|计划|力争|预期|预计")

# key → (pattern, unit): group 1 is the figure; the unit is fixed, or (None) the pattern's group 2
FACT_PATTERNS: dict[str, tuple[str, str | None]] = {
    "staff_count": (rf"(?:在职|在编|编制|实有)(?:人数|人员)(?:共|为|合计)?\s*{NUM}\s*(人|名)", "人"),
    "total_budget": (rf"(?:预算总额|预算总规模|调整后预算(?:金额|数)?|全年预算(?:总额|金额|数)){LINK}{NUM}{MONEY}", None),
    "fiscal_appropriation": (rf"财政拨款(?:收入|资金)?{LINK}{NUM}{MONEY}", None),
    "basic_expenditure": (rf"基本支出(?:预算)?{LINK}{NUM}{MONEY}", None),
    "personnel_expenditure": (rf"人员经费(?:支出)?{LINK}{NUM}{MONEY}", None),
    "public_expenditure": (rf"公用经费(?:支出)?{LINK}{NUM}{MONEY}", None),
    "project_expenditure": (rf"项目支出(?:预算)?{LINK}{NUM}{MONEY}", None),
    "initial_budget": (rf"年初预算(?:金额|数|总额)?{LINK}{NUM}{MONEY}", None),
    "budget_adjustment": (rf"(?:调增|追加|调减)(?:预算)?(?:资金)?(?:合计|共计)?{LINK}{NUM}{MONEY}", None),
    "executed": (rf"{WHOLE}(?:(?:预算)?执行(?:金额|数|资金)|实际支出(?:金额)?){LINK}{NUM}{MONEY}", None),
    "execution_rate": (rf"{WHOLE}(?:预算)?执行率{LINK}{NUM}{PERCENT}(?!以上|以下)", "%"),
    "satisfaction_rate": (rf"满意度{CLAIM}{NUM}{PERCENT}", "%"),
    "coverage_rate": (rf"覆盖率{CLAIM}{NUM}{PERCENT}", "%"),
}
SENTENCE_ENDS = "。！？!?"
# OCR reads a thousands comma as a point now and then: `1.487.32` is 1,487.32.
POINTED_THOUSANDS = re.compile(r"(?<![\d.,，])(\d{1,3})((?:\.\d{3})+)\.(\d{1,2})(?![\d.])")


@dataclass(frozen=True)
class ReportRecords:
    header: Header
    facts: list[Fact] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)


def narrative_pages(grids: list[TableGrid], catalogue: Catalogue) -> set[int]:
    """The pages of a report: pages holding only running text (one-column grids of lines), provided
    those pages open with a 自评报告 title. Pages with a ruled table are not narrative — in a report
    filed with its table as an appendix, they are the table. Empty when the document is no report."""
    by_page: dict[int, list[TableGrid]] = {}
    for grid in grids:
        by_page.setdefault(grid.page, []).append(grid)
    text_pages = {page for page, gs in by_page.items() if all(g.n_cols == 1 for g in gs)}
    text_grids = [g for g in grids if g.page in text_pages]
    if not text_grids or not catalogue.is_report(detect_form(document_rows(text_grids), catalogue)):
        return set()
    return text_pages


def read_report(grids: list[TableGrid], catalogue: Catalogue) -> ReportRecords:
    """Header and facts of the narrative pages `grids`."""
    pages = drop_furniture(page_lines(grids))
    paras = paragraphs(pages)
    corrections: list[Correction] = []
    facts = read_facts(paras, corrections)
    return ReportRecords(read_report_header(pages, paras, catalogue), facts, corrections)


def _fixed_text(para: Paragraph, corrections: list[Correction]) -> str:
    fixed = correct(para.text, "text")
    for change in fixed.changes:
        if change.kind != "wrap_join":
            corrections.append(Correction(page=para.page, field="report_text", raw=change.before,
                                          corrected=change.after, kind=change.kind, confidence=para.confidence))
    text = fixed.text
    pointed = POINTED_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(".", ",") + "." + m.group(3), text)
    if pointed != text:
        corrections.append(Correction(page=para.page, field="report_text", raw=text, corrected=pointed,
                                      kind="thousands_separator", confidence=para.confidence))
    return pointed


def read_facts(paras: list[Paragraph], corrections: list[Correction]) -> list[Fact]:
    """The first statement of each key, in document order."""
    facts: list[Fact] = []
    seen: set[str] = set()
    for para in paras:
        text = _fixed_text(para, corrections)
        for key, (pattern, unit) in FACT_PATTERNS.items():
            if key in seen:
                continue
            fact = _first_fact(key, pattern, unit, text, para)
            if fact is not None:
                seen.add(key)
                facts.append(fact)
    return facts


def _first_fact(key: str, pattern: str, unit: str | None, text: str, para: Paragraph) -> Fact | None:
    for m in re.finditer(pattern, text):
        start, end = _sentence_span(text, m.start(), m.end())
        if TARGET_WORDS.search(text[max(start, m.start() - 8) : m.start()]):
            continue  # a target stated before the result, not the result
        figure = m.group(1)
        value = Decimal(re.sub(r"[,，]", "", figure))
        if key == "budget_adjustment" and m.group(0).startswith("调减"):
            value = -value
        line = _line_at(para, text, m.start(1))
        return Fact(
            key=key, value=value, unit=unit or m.group(2), text=text[start:end].strip(),
            provenance=Provenance(page=line.page, bbox=line.bbox.as_list() if line.bbox else None,
                                  raw=line.text, confidence=line.confidence, engine=line.engine),
        )
    return None


def _sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around text[start:end]: from after the previous 。！？ to the next one, inclusive."""
    left = max(text.rfind(p, 0, start) for p in SENTENCE_ENDS) + 1
    rights = [i for i in (text.find(p, end) for p in SENTENCE_ENDS) if i >= 0]
    return left, (min(rights) + 1 if rights else len(text))


def _line_at(para: Paragraph, text: str, pos: int) -> Line:
    """The line of the paragraph that holds corrected-text position `pos` (line lengths after the
    same correction, so the spaces a line loses do not shift the count)."""
    at = 0
    for line in para.lines:
        at += len(correct(line.text.strip(), "text").text)
        if pos < at:
            return line
    return para.lines[-1]
