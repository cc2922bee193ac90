"""H — the header: the form recognised, and the fields its catalogue entry names present."""

from __future__ import annotations

from collections.abc import Iterator

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


