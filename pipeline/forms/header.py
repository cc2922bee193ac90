"""Form type and header fields (year, unit, project, supervising department).

The form type needs positive evidence: a title line that names the form, or the indicator table's
header row (enough of 一级指标 / 二级指标 / 三级指标 / 年度指标值 / 分值 / 得分). Labels alone are not
evidence: a VAT goods list has a 单位 column and a research application a 项目名称 row, and taking
them for forms put junk rows into the analysts' CSVs. Everything is matched after post-correction,
so a scan that reads `目支出绩效` or `万目名称` is still recognised as a 项目支出绩效自评表.

A narrative report has no header cells. Its year is in the title block (`（2024 年度）`); its unit is
where the report puts it, tried in this order: a label line (`编报单位：…`), the title block (a line
that is a unit's name, or the name before `2024年度…自评报告`), the signature at the end, and last the
unit the sentences are about — the name that most often opens a sentence (seed 003 names itself only
so: `虹桥镇社区党群服务中心预算资金来源于…`). The cross-check pairs a report with its table by this name.
"""

from __future__ import annotations

import re
from collections import Counter

from ..correct import correct
from ..records import UNKNOWN, FormType, Header, Provenance
from .catalog import Catalogue
from .fields import FieldReader
from .layout import Row, map_columns
from .narrative import Line, Paragraph, is_heading

# What may follow a title on its line: the year in brackets, closing book-title marks.
TITLE_TAIL = re.compile(r"(?:[（(]\s*20\d{2}\s*年度?\s*[）)]|[》」”\"：:])+$")
TITLE_ROWS = 12


def title_of(lines: list[str], catalogue: Catalogue) -> FormType:
    """The form a title line names (a line, or two adjacent ones: a long title wraps), else unknown.

    The title must end the line: a letter titled `关于报送项目支出绩效自评表的函` names a form, but
    is not one.
    """
    candidates = lines + [a + b for a, b in zip(lines, lines[1:])]
    for line in candidates:
        text = TITLE_TAIL.sub("", line)
        for form, spec in catalogue.forms.items():
            if re.search(spec.title, text):
                return form
    return UNKNOWN


def indicator_header(rows: list[Row], catalogue: Catalogue) -> Row | None:
    """The first row that is an indicator table's header, if any."""
    untitled = catalogue.untitled_form
    columns = {role: catalogue.columns.indicators[role] for role in untitled.columns}
    for row in rows:
        if len(map_columns(row, columns)) >= untitled.at_least:
            return row
    return None


def detect_form(rows: list[Row], catalogue: Catalogue) -> FormType:
    """A table form from the title or, without one, from the indicator header row; a report form
    from the title (the caller checks it is running text); else `unknown`."""
    lines = [r.joined_label() for r in rows[:TITLE_ROWS]]
    titled = title_of(lines, catalogue)
    if catalogue.is_report(titled):
        below = catalogue.forms[titled].not_titled_over
        if not (below and any(below in line for line in lines)):
            return titled
    if catalogue.is_table(titled):
        return titled
    header = indicator_header(rows, catalogue)
    if header is None:
        return UNKNOWN
    # Which form, from the header block's labels (whole cells: a goal sentence may say 项目资金).
    labels = [r.label(col) for r in rows[:TITLE_ROWS] for col in range(len(r.cells))]
    tables = catalogue.table_forms
    for form in tables:
        starts = tuple(catalogue.forms[form].header_labels)
        if starts and any(label.startswith(starts) for label in labels):
            return form
    # Last, whether its 一级 column has a 权重 beside it.
    weighted = bool(map_columns(header, {"weight": catalogue.columns.indicators["weight"]}))
    return next((f for f in tables if catalogue.forms[f].weight_column == weighted), UNKNOWN)


def read_header(rows: list[Row], form_type: FormType, reader: FieldReader, catalogue: Catalogue) -> Header:
    labels = catalogue.columns.header
    fields: dict[str, str] = {}
    prov: dict[str, Provenance] = {}
    year = None
    for row in rows[:12]:
        m = re.search(r"(20\d{2})\s*年度", row.joined_label())
        if m and year is None:
            year = int(m.group(1))
        for col in range(len(row.cells)):
            for name, pattern in labels.items():
                if name in fields or not re.search(pattern, row.label(col)):
                    continue
                value_cells = _value_cells(row, col, labels)
                text, p = reader.text(value_cells, "name", name)
                if text:
                    fields[name] = text
                    prov[name] = p
        for col in range(len(row.cells)):
            # A label and its value in one cell: the ruling between them was not found.
            for name, pattern in labels.items():
                joined = re.match(pattern.rstrip("$") + r"[:：]?(.{4,})$", row.label(col))
                if name in fields or not joined:
                    continue
                text, p = reader.text([row.cells[col]], "name", name)
                fields[name] = correct(joined.group(1), "name").text
                prov[name] = p
    spec = catalogue.forms.get(form_type)
    unit_label = spec.unit_label if spec is not None else "unit_name"
    unit = fields.get(unit_label, "")
    for name in [n for n in prov if n not in Header.model_fields]:  # a label of no field of its own: 实施单位
        prov["unit_name"] = prov.pop(name)
    return Header(
        form_type=form_type, year=year, unit_name=unit, project_name=fields.get("project_name", ""),
        supervising_dept=fields.get("supervising_dept", ""), provenance=prov,
    )


def _value_cells(row: Row, label_col: int, labels: dict[str, str]) -> list:
    """The value of a header label: the non-empty cells to its right, up to the next label.

    Usually one cell. Where the grid took a glyph's stroke for a ruling, or a ruling of the
    table below runs through the header row, the value is in pieces, and the first piece alone
    was a name cut short (`上海市青浦区`, or `一` for the left of a `上`). The pieces are joined;
    `FieldReader` records the join (`merged_columns`) and check H2 asks a person to look.
    """
    cells = []
    for col in range(label_col + 1, len(row.cells)):
        text = row.label(col)
        if any(re.match(p.rstrip("$"), text) for p in labels.values()):
            break  # the next label, alone or with its value in its cell
        if text:
            cells.append(row.cell(col))
    return cells


# What a unit's name ends with: the kinds of public bodies that file these reports.
UNIT_KIND = (
    r"(?:中心|局|委员会|办公室|办事处|人民政府|(?:事务|研究|管理|服务|派出|卫生)所|(?:服务|管理|工作|监测)站|"
    r"(?:图书|文化|博物|纪念|档案|美术|科技)馆|(?:卫生|研究|设计|检察|学)院|医院|法院|[大中支总]队|"
    r"(?:协|联合|基金|商)会|学校|小学|中学|幼儿园|公司|集团)"
)
PLACE = r"(?:省|市|(?<!社)区|县|镇|乡|街道|村(?!民))"  # 社区 is a kind of body, not a place
UNIT_NAME = re.compile(rf"^[\u4e00-\u9fff（）()]{{2,40}}{UNIT_KIND}$")
UNIT_LABEL = re.compile(r"^(?:编报|填报|报送)?(?:单位|部门)(?:名称)?(?:[（(]盖章[）)])?[:：](.+)$")
REPORT_TITLE_TAIL = re.compile(r"(?:20\d{2}年度?|部门（单位）|部门|单位|整体支出|预算绩效).*自评报告.*$")
SENTENCE_SUBJECT = re.compile(rf"(?:^|(?<=[。！？；]))([\u4e00-\u9fff]{{2,28}}?{UNIT_KIND})")
TITLE_LINES = 6
SIGNATURE_LINES = 4


def read_report_header(pages: list[list[Line]], paras: list[Paragraph], catalogue: Catalogue) -> Header:
    """Year and unit of a narrative report (furniture already dropped from `pages`)."""
    lines = [line for page in pages for line in page]
    title = _title_block(pages[0] if pages else [])
    prov: dict[str, Provenance] = {}
    year = None
    for line in title:
        m = re.search(r"(20\d{2})\s*年度?", line.text)
        if m:
            year = int(m.group(1))
            prov["year"] = _provenance(line)
            break
    if year is None:
        years = Counter(int(y) for y in re.findall(r"(20\d{2})\s*年", "".join(p.text for p in paras)))
        year = years.most_common(1)[0][0] if years else None
    found = _labelled_unit(lines) or _title_unit(title) or _signature_unit(lines) or _subject_unit(paras)
    unit = ""
    if found:
        unit, line = found
        prov["unit_name"] = _provenance(line)
    return Header(form_type=catalogue.report_form, year=year, unit_name=unit, provenance=prov)


def _corrected(text: str) -> str:
    """A line's text after post-correction (unit names are matched on what the line says, not on OCR slips)."""
    return correct(text, "text").text if text.strip() else ""


def _provenance(line: Line) -> Provenance:
    return Provenance(page=line.page, bbox=line.bbox.as_list() if line.bbox else None, raw=line.text,
                      confidence=line.confidence, engine=line.engine)


def _title_block(first_page: list[Line]) -> list[Line]:
    """The lines above the first heading of page 1 (title, unit, year)."""
    out = []
    for line in first_page[:TITLE_LINES]:
        if is_heading(line, None):
            break
        out.append(line)
    return out


def _labelled_unit(lines: list[Line]) -> tuple[str, Line] | None:
    for line in lines:
        m = UNIT_LABEL.match(_corrected(line.text))
        if m and UNIT_NAME.match(m.group(1)):
            return m.group(1), line
    return None


def _title_unit(title: list[Line]) -> tuple[str, Line] | None:
    """The longest unit name in the title block: a line of its own, or before `2024年度…自评报告`."""
    found = []
    for line in title:
        text = _corrected(line.text).removeprefix("关于")
        head = REPORT_TITLE_TAIL.sub("", text)
        if UNIT_NAME.match(head):
            found.append((head, line))
    return max(found, key=lambda f: len(f[0])) if found else None


def _signature_unit(lines: list[Line]) -> tuple[str, Line] | None:
    for line in reversed(lines[-SIGNATURE_LINES:]):
        text = _corrected(line.text)
        if UNIT_NAME.match(text) and not is_heading(line, None):
            return text, line
    return None


def _subject_unit(paras: list[Paragraph]) -> tuple[str, Line] | None:
    """The named unit (it has a place in its name) that most often opens a sentence; longer on a tie."""
    counts: Counter[str] = Counter()
    where: dict[str, Line] = {}
    for para in paras:
        for m in SENTENCE_SUBJECT.finditer(_corrected(para.text)):
            name = m.group(1)
            if re.search(PLACE, name):
                counts[name] += 1
                where.setdefault(name, para.lines[0])
    if not counts:
        return None
    best = max(counts, key=lambda n: (counts[n], len(n)))
    return best, where[best]
