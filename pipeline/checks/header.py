"""H — the header: the form recognised, the fields its catalogue entry names present, and read whole."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..forms.header import UNIT_KIND
from ..records import TEXT_ENGINES
from .cells import Ref
from .registry import Context, Hit, rule

HEADER_LABELS = {
    "year": "年度",
    "unit_name": "单位名称/实施单位",
    "project_name": "项目名称",
    "supervising_dept": "主管部门",
}


@rule("H1", "form")
def _h1(ctx: Context) -> Iterator[Hit]:
    """Header fields present"""
    header = ctx.doc.header
    if ctx.spec is None:
        yield Hit(
            "form type not recognised",
            expected=" | ".join(spec.name for spec in ctx.forms.forms.values()),
            observed=header.form_type,
            at=Ref("header", "", "form_type"),
        )
        return
    for name in ctx.spec.header_fields:
        value = getattr(header, name)
        if value in (None, ""):
            yield Hit(f"{HEADER_LABELS.get(name, name)} missing", expected="present", at=Ref("header", "", name))
        elif name == "year" and not 2000 <= value <= 2099:
            yield Hit("年度 implausible", expected="2000–2099", observed=str(value), at=Ref("header", "", name))


# How the name of a body ends: its kind, and for a 主管部门 also a 街道 or town (seeds: `…新虹街道 (汇总)`),
# either perhaps with a note in brackets.
NAME_ENDS = {
    "unit_name": re.compile(rf"{UNIT_KIND}(?:[（(][^（()）]*[）)])?$"),
    "supervising_dept": re.compile(rf"(?:{UNIT_KIND}|街道|镇|乡)(?:\s*[（(][^（()）]*[）)])?$"),
}
# The header labels a field's value is read under (实施单位 is a project form's unit_name).
READ_AS = {"implementing_unit": "unit_name"}


@rule("H2", "extraction")
def _h2(ctx: Context) -> Iterator[Hit]:
    """Header values read whole.

    A scan gives no sign when it reads part of a value: a wrapped second line lost (`…城市运行管理`
    for `…管理中心`), or a value cut by a ruling the grid put through it (`上海市青浦区`). A name
    that does not end like a body's name, or a value pieced together from several cells, is
    shown to a person. A text layer (born-digital or extracted) holds the value whole: only the
    pieces are checked there.
    """
    if ctx.spec is None:
        return
    header = ctx.doc.header
    # Only a recognised page cuts a value short unseen; a text layer has the value whole.
    recognised = bool(set(ctx.doc.engine.split("+")) - TEXT_ENGINES)
    pieced = {READ_AS.get(c.field, c.field) for c in ctx.doc.corrections
              if c.seq is None and c.kind == "merged_columns"}
    for name in ctx.spec.header_fields:
        value = getattr(header, name)
        if value in (None, ""):
            continue
        label = HEADER_LABELS.get(name, name)
        if name in pieced:
            yield Hit(f"{label} read from several cells", expected="one cell", observed=str(value),
                      at=Ref("header", "", name))
        elif recognised and name in NAME_ENDS and not NAME_ENDS[name].search(str(value)):
            yield Hit(f"{label} does not end like a body's name: cut short?", expected="中心 / 局 / 人民政府 …",
                      observed=str(value), at=Ref("header", "", name))
