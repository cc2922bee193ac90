"""The outputs opened as a spreadsheet user opens them, in a real LibreOffice Calc (headless).

perfscan.xlsx is the file for spreadsheets: every cell a string or a number, never a formula, so
a scanned form's `=100.00(%)` shows as written and no cell is an error. The CSVs are for pandas and
scripts: the contract keeps the 年度指标值/完成值 text verbatim (`=100.00(%)`), so LibreOffice's
default import takes those cells — and only those — for formulas; imported with formula evaluation
off (as the README says) no cell is an error. Every other text cell that would start a formula
carries a leading `'`.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.outputs.export import spreadsheet_safe
from tests.batchfiles import fixture, read_csv

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
ERROR_CELL = ("Err:", "#NAME?", "#VALUE!", "#REF!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!")
CSV_EXPORT = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
# Import: comma, double quote, UTF-8, from line 1, standard cells, quoted fields as text, no special
# numbers, …, token 13 false: formulas not evaluated.
CSV_IMPORT_AS_TEXT = "CSV:44,34,76,1,,0,true,false,false,false,false,-1,false"


def _calc(source: Path, outdir: Path, profile: Path, infilter: str | None = None) -> dict[str, list[list[str]]]:
    """`source` opened by LibreOffice Calc and saved back as CSV, one file per sheet, as shown on
    screen: sheet name → rows."""
    cmd = [SOFFICE, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", CSV_EXPORT,
           "--outdir", str(outdir), str(source)]
    if infilter:
        cmd[2:2] = [f"--infilter={infilter}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sheets = {}
    for path in outdir.glob(f"{source.stem}*.csv"):
        sheet = path.stem.removeprefix(source.stem).lstrip("-") or source.stem
        sheets[sheet] = list(csv.reader(path.read_text("utf-8-sig").splitlines()))
    return sheets


def _errors(rows: list[list[str]]) -> list[tuple[int, str, str]]:
    header = rows[0]
    return [(n, header[i], text) for n, row in enumerate(rows[1:], 2) for i, text in enumerate(row)
            if text.startswith(ERROR_CELL)]


def _same(shown: str, written: str) -> bool:
    if shown.lower() == written.lower():
        return True
    try:
        return abs(float(shown) - float(written)) < 1e-4
    except ValueError:
        return False


def test_a_text_that_would_start_a_formula_is_marked_unless_the_contract_keeps_it():
    assert spreadsheet_safe('=HYPERLINK("http://x","点击")') == '\'=HYPERLINK("http://x","点击")'
    assert [spreadsheet_safe(t) for t in ("@SUM(A1)", "+86 21 1234", "\t=1", "-5.00", "7.50", "提升", "", "-")] == [
        "'@SUM(A1)", "'+86 21 1234", "'\t=1", "-5.00", "7.50", "提升", "", "-"]


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice Calc not installed (make setup installs "
                                            "libreoffice-calc-nogui)")
def test_a_scanned_fixture_in_libreoffice_shows_no_error_cell(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(fixture("u000_scan")), "--out", str(out)]) == 0
    written = list(csv.reader((out / "indicators.csv").read_text("utf-8-sig").splitlines()))
    targets = {row[7] for row in written[1:]}
    assert any(t.startswith("=") for t in targets), "the fixture has a =… target: what this test is about"
    profile = tmp_path / "profile"

    # perfscan.xlsx, the file for spreadsheets: not one error cell on any sheet, and its indicators
    # sheet shows what indicators.csv holds, cell by cell
    book = _calc(out / "perfscan.xlsx", tmp_path / "xlsx", profile)
    assert {"documents", "indicators", "funding", "findings"} <= set(book)
    assert {name: _errors(rows) for name, rows in book.items() if _errors(rows)} == {}
    sheet = book["indicators"]
    assert sheet[0] == written[0] and len(sheet) == len(written)
    for shown_row, written_row in zip(sheet[1:], written[1:], strict=True):
        assert all(_same(s, w) for s, w in zip(shown_row, written_row, strict=True)), (shown_row, written_row)

    # indicators.csv imported with formula evaluation off: no error cell, every text as written
    as_text = _calc(out / "indicators.csv", tmp_path / "text", profile, CSV_IMPORT_AS_TEXT)["indicators"]
    assert _errors(as_text) == []
    assert [row[7] for row in as_text] == [row[7] for row in written]

    # opened with LibreOffice's defaults, only the contract's verbatim 年度指标值/完成值 cells (and the `=` of
    # target_op) can be taken for formulas; no other column can
    default = _calc(out / "indicators.csv", tmp_path / "default", profile)["indicators"]
    assert {column for _, column, _ in _errors(default)} <= {"target", "target_op", "actual"}
    for name in ("documents", "findings", "corrections", "tables", "funding", "facts"):
        for row in read_csv(out / f"{name}.csv"):
            for column, text in row.items():
                if (name, column) not in {("corrections", "raw"), ("corrections", "corrected"), ("tables", "text")}:
                    assert spreadsheet_safe(text) == text or text.startswith("'"), (name, column, text)
