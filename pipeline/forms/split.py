"""A file's grids → the forms it binds, cut where a new title or header block begins.

Units publish their 项目支出绩效自评表 bound in one PDF, and file a 自评报告 with its 整体支出绩效自评表
behind it; each form is a document of its own. A form starts on a new page, with its title, or
with its header block (单位名称 / 项目名称 / 主管部门 …) above an indicator table. Pages before the
first start (a cover letter) belong to the first form, pages without a start (a continuation, a
blank page) to the form before them.

A page only starts a new form when it names another one than the form running: a report's running
header repeats its title on every page, and tables are printed with their title rows repeated, so
a page whose title, year and header values agree with the running form's continues it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from ..records import UNKNOWN, FormType
from ..types import TableGrid
from .catalog import Catalogue, default_catalogue
from .fields import FieldReader
from .header import detect_form, indicator_header, read_header, title_of
from .layout import document_rows

START_ROWS = 8  # a form's title and header block are this close to the top of its first page


@dataclass(frozen=True)
class _Start:
    """What the top of a page says about the form it begins."""

    kind: FormType
    year: int | None
    names: dict[str, str] = field(default_factory=dict)

    def names_other_form_than(self, running: _Start) -> bool:
        if UNKNOWN not in (self.kind, running.kind) and self.kind != running.kind:
            return True
        if self.year and running.year and self.year != running.year:
            return True
        return any(running.names.get(k, v) != v for k, v in self.names.items())

    def joined(self, later: _Start) -> _Start:
        """The running form, with what a later page of it adds."""
        return _Start(self.kind if self.kind != UNKNOWN else later.kind, self.year or later.year,
                      {**later.names, **self.names})


def split_forms(grids: list[TableGrid], catalogue: Catalogue | None = None) -> list[list[TableGrid]]:
    """The grids of each form, in file order (one list when the file holds one form or none);
    forms are told by `catalogue` (default: configs/forms.yaml)."""
    catalogue = catalogue or default_catalogue()
    forms: list[list[TableGrid]] = []
    running: _Start | None = None
    for _, page in groupby(grids, key=lambda g: g.page):
        page_grids = list(page)
        start = _start(page_grids, catalogue)
        new_form = start is not None and running is not None and start.names_other_form_than(running)
        if not forms or new_form:
            forms.append([])
        forms[-1].extend(page_grids)
        if start is not None:
            running = start if running is None or new_form else running.joined(start)
    return forms


def _start(grids: list[TableGrid], catalogue: Catalogue) -> _Start | None:
    """The form a page begins, or None: a title line at its top, or a header block at its top over
    an indicator table (labels alone are no evidence: an invoice has a 单位名称 too)."""
    rows = document_rows(grids)
    top = rows[:START_ROWS]
    titled = title_of([r.joined_label() for r in top], catalogue)
    kind = titled
    if kind == UNKNOWN and indicator_header(rows, catalogue) is not None:
        kind = detect_form(rows, catalogue)  # no title: the header row says a form, its labels which one
    header = read_header(top, kind, FieldReader(), catalogue)
    names = {k: v for k, v in (("unit_name", header.unit_name), ("project_name", header.project_name),
                               ("supervising_dept", header.supervising_dept)) if v}
    if kind == UNKNOWN or (titled == UNKNOWN and not names):
        return None  # a continuation page repeats the indicator header, not the header block
    return _Start(kind, header.year, names)
