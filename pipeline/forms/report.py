"""The narrative 自评报告: paragraphs rebuilt across wraps and page breaks, and its figures (facts).

A report states the same money as its table, in 万元 and in running text (`整体预算总额 2,885.53
万元`). Each fact keeps the sentence it came from so a reviewer sees the evidence beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..correct import correct, parse_decimal
from ..records import Correction, Fact, Provenance
from .layout import Row

HEADING = re.compile(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[、.．]|[①-⑩])")
SENTENCE_END = "。；！？：…）)"
NUM = r"(\d[\d,，]*(?:\.\d+)?)"

# key → (pattern with one number group, unit). First match wins; patterns follow the report template.
FACT_PATTERNS: dict[str, tuple[str, str]] = {
    "staff_count": (rf"(?:在职|编制)人数\s*{NUM}\s*人", "人"),
    "total_budget": (rf"预算总额\s*{NUM}\s*万元", "万元"),
    "fiscal_appropriation": (rf"财政拨款\s*{NUM}\s*万元", "万元"),
    "basic_expenditure": (rf"基本支出\s*{NUM}\s*万元", "万元"),
    "personnel_expenditure": (rf"人员经费\s*{NUM}\s*万元", "万元"),
    "public_expenditure": (rf"公用经费\s*{NUM}\s*万元", "万元"),
    "project_expenditure": (rf"项目支出\s*{NUM}\s*万元", "万元"),
    "initial_budget": (rf"年初预算(?:金额|数)?(?:为)?\s*{NUM}\s*万元", "万元"),
    "budget_adjustment": (rf"调增(?:资金|预算)?(?:为|合计)?\s*{NUM}\s*万元", "万元"),
    "executed": (rf"(?:预算)?执行(?:金额|数)(?:为)?\s*{NUM}\s*万元", "万元"),
    "execution_rate": (rf"(?:预算)?执行率(?:为)?\s*{NUM}\s*%", "%"),
}


@dataclass(frozen=True)
class Paragraph:
    page: int
    text: str


def paragraphs(rows: list[Row]) -> list[Paragraph]:
    """Lines → paragraphs: a line that does not end a sentence continues on the next line,
    unless the next line starts a heading (`（二）`, `2、`, `①`)."""
    out: list[Paragraph] = []
    open_para = False
    for row in rows:
        line = " ".join(c.text.strip() for c in row.cells if c is not None and c.text.strip())
        if not line:
            continue
        if out and open_para and not HEADING.match(line):
            out[-1] = Paragraph(out[-1].page, out[-1].text + line)
        else:
            out.append(Paragraph(row.page, line))
        open_para = not out[-1].text.rstrip().endswith(tuple(SENTENCE_END)) and not HEADING.match(out[-1].text)
    return out


def _sentence(text: str, start: int, end: int) -> str:
    left = max(text.rfind(p, 0, start) for p in "。；") + 1
    rights = [i for i in (text.find(p, end) for p in "。；") if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    return text[left:right].strip()


def read_facts(rows: list[Row], corrections: list[Correction]) -> list[Fact]:
    facts: list[Fact] = []
    seen: set[str] = set()
    for para in paragraphs(rows):
        fixed = correct(para.text, "text")
        for change in fixed.changes:
            if change.kind != "wrap_join":
                corrections.append(Correction(page=para.page, field="report_text", raw=change.before,
                                              corrected=change.after, kind=change.kind))
        text = fixed.text
        for key, (pattern, unit) in FACT_PATTERNS.items():
            if key in seen:
                continue
            m = re.search(pattern, text)
            if not m:
                continue
            value = parse_decimal(m.group(1).replace(",", "").replace("，", ""))
            if value is None:
                continue
            seen.add(key)
            facts.append(Fact(key=key, value=Decimal(value), unit=unit,
                              text=_sentence(text, m.start(), m.end()),
                              provenance=Provenance(page=para.page, raw=m.group(0))))
    return facts
