"""Figures as the rules add, compare and print them (they live here because only the rules give
them meaning): sums over values some of which were not read, 执行率, cents."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from .cells import Ref

CENT = Decimal("0.01")


def fmt(value: Decimal | None) -> str:
    return "—" if value is None else format(value, "f")


def cents(value: Decimal) -> str:
    return format(value.quantize(CENT, ROUND_HALF_UP), "f")


def sum_known(values: Iterable[Decimal | None]) -> tuple[Decimal, int]:
    """Sum of the known values and how many were unknown."""
    total, missing = Decimal(0), 0
    for value in values:
        if value is None:
            missing += 1
        else:
            total += value
    return total, missing


def needs_for(terms: list[tuple[Ref, Decimal | None]], known: Decimal, target: Decimal) -> tuple[tuple[Ref, Decimal], ...]:
    """For Σ terms = target: the value each term alone would need. With one term unknown only that
    term can close the sum; with more, none can."""
    unknown = [ref for ref, value in terms if value is None]
    if unknown:
        return ((unknown[0], target - known),) if len(unknown) == 1 else ()
    return tuple((ref, value + target - known) for ref, value in terms)


def unknown_note(missing: int) -> str:
    return f" ({missing} without a value)" if missing else ""


def exact_rate(budget: Decimal, executed: Decimal) -> Decimal | None:
    """执行率 in percent; 0/0 is 0 (seeds print 0.00), x/0 is undefined."""
    if budget == 0:
        return Decimal(0) if executed == 0 else None
    return executed / budget * 100


def without_spaces(text: str) -> str:
    """Text compared as words: OCR and typists space Chinese text anyhow."""
    return re.sub(r"\s+", "", text)
