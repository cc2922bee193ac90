"""Score an output folder against fixture truth: how much was found, how much is exactly right,
and whether every wrong value was at least flagged for review.

    python -m tests.benchmark.scoring OUT_DIR [--truth fixtures/truth] [--names u000_scan p001_scan] [--json FILE]

Documents are matched by `doc_id` (the fixture PDF's sha256 prefix; `-2`, `-3` … for the later forms of
a file that binds several, whose truth file holds the list of them), indicator rows by `seq`,
funding lines by `item`. Numbers compare as Decimals (`7.5` = `7.50`); text compares exactly, since
truth holds the contract's cleaned cell text. The acceptance criterion this serves: a value that is
still wrong must carry `needs_review=true`, a finding, or a document status of needs_review.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipeline.records import Document

NUMERIC_INDICATOR = ("max_score", "score", "level1_weight", "target_value", "actual_value")
TEXT_INDICATOR = ("level1", "level2", "level3", "target", "actual", "deviation_reason")
OTHER_INDICATOR = ("page", "target_op", "target_unit", "actual_unit")
NUMERIC_FUNDING = ("initial_budget", "budget", "executed", "execution_rate", "max_score", "score")
HEADER = ("form_type", "year", "unit_name", "project_name", "supervising_dept")
TOTALS = (("total_max_score", "max_score"), ("total_score", "score"))
FLAGGING_SEVERITIES = {"error", "warning"}


@dataclass
class Tally:
    compared: int = 0
    matched: int = 0

    def add(self, ok: bool) -> None:
        self.compared += 1
        self.matched += ok

    def merge(self, other: Tally) -> None:
        self.compared += other.compared
        self.matched += other.matched

    @property
    def share(self) -> float | None:
        return self.matched / self.compared if self.compared else None


@dataclass
class Mismatch:
    """A truth value the output got wrong or lost; `via` says what flags it ("" = nothing does)."""

    name: str
    doc_id: str
    table: str
    key: str
    field: str
    expected: str
    observed: str | None  # None: the row or document is missing from the output
    via: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.via)


@dataclass
class DocScore:
    name: str
    doc_id: str
    found: bool = False
    rows_truth: int = 0
    rows_found: int = 0
    numeric: Tally = field(default_factory=Tally)
    text: Tally = field(default_factory=Tally)
    other: Tally = field(default_factory=Tally)
    chars: int = 0
    char_errors: int = 0


@dataclass
class ScoreReport:
    docs: list[DocScore]
    mismatches: list[Mismatch]

    def _total(self, attr: str) -> Tally:
        out = Tally()
        for d in self.docs:
            out.merge(getattr(d, attr))
        return out

    @property
    def rows_found_share(self) -> float | None:
        truth = sum(d.rows_truth for d in self.docs)
        return sum(d.rows_found for d in self.docs) / truth if truth else None

    @property
    def numeric(self) -> Tally:
        return self._total("numeric")

    @property
    def text(self) -> Tally:
        return self._total("text")

    @property
    def other(self) -> Tally:
        return self._total("other")

    @property
    def char_accuracy(self) -> float | None:
        """1 − edit distance / length over the text fields: the OCR accuracy these fixtures measure."""
        chars = sum(d.chars for d in self.docs)
        return 1 - sum(d.char_errors for d in self.docs) / chars if chars else None

    @property
    def unflagged(self) -> list[Mismatch]:
        return [m for m in self.mismatches if not m.flagged]

    def to_dict(self) -> dict:
        return {
            "summary": {
                "documents": len(self.docs),
                "documents_found": sum(d.found for d in self.docs),
                "rows_found_share": self.rows_found_share,
                "numeric_exact_share": self.numeric.share,
                "text_exact_share": self.text.share,
                "other_exact_share": self.other.share,
                "char_accuracy": self.char_accuracy,
                "wrong_values": len(self.mismatches),
                "unflagged_wrong_values": len(self.unflagged),
            },
            "documents": [
                {**asdict(d), "numeric_share": d.numeric.share, "text_share": d.text.share,
                 "other_share": d.other.share}
                for d in self.docs
            ],
            "mismatches": [{**asdict(m), "flagged": m.flagged} for m in self.mismatches],
        }

    def table(self) -> str:
        lines = [f"{'document':16} {'rows':>9} {'numeric':>8} {'text':>8} {'other':>8} {'chars':>8} {'wrong':>6} "
                 f"{'unflag':>6}"]
        for d in self.docs:
            wrong = [m for m in self.mismatches if m.doc_id == d.doc_id]
            rows = f"{d.rows_found}/{d.rows_truth}" if d.found else "missing"
            char_acc = 1 - d.char_errors / d.chars if d.chars else None
            lines.append(f"{d.name:16} {rows:>9} {_pct(d.numeric.share)} {_pct(d.text.share)} "
                         f"{_pct(d.other.share)} {_pct(char_acc)} {len(wrong):>6} "
                         f"{sum(not m.flagged for m in wrong):>6}")
        lines.append(f"{'all':16} {_pct(self.rows_found_share):>9} {_pct(self.numeric.share)} "
                     f"{_pct(self.text.share)} {_pct(self.other.share)} {_pct(self.char_accuracy)} "
                     f"{len(self.mismatches):>6} {len(self.unflagged):>6}")
        for m in self.unflagged:
            lines.append(f"UNFLAGGED {m.name} {m.table} {m.key} {m.field}: expected {m.expected!r}, got {m.observed!r}")
        return "\n".join(lines)


def _pct(share: float | None) -> str:
    return f"{'—':>8}" if share is None else f"{share * 100:7.2f}%"


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a contract CSV (UTF-8 with BOM); a missing file has no rows."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def as_decimal(text: str | None) -> Decimal | None:
    if text is None or text.strip() == "":
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def same_number(expected: Decimal | None, observed: str | None) -> bool:
    if observed is not None and observed.strip() and as_decimal(observed) is None:
        return False  # not a number at all
    return expected == as_decimal(observed)


def _as_text(value: object) -> str:
    """A truth value as the CSVs write it (None empty, a Decimal as written)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class _Flags:
    """What marks a value as doubtful in the output: row needs_review, findings, document status."""

    def __init__(self, out_dir: Path) -> None:
        self.findings: dict[str, list[dict[str, str]]] = {}
        for row in read_csv(out_dir / "findings.csv"):
            if row.get("severity") in FLAGGING_SEVERITIES:
                self.findings.setdefault(row["doc_id"], []).append(row)
        self.status = {row["doc_id"]: row.get("status", "") for row in read_csv(out_dir / "documents.csv")}

    def via(self, doc_id: str, row: dict[str, str] | None, seq: str = "") -> str:
        if row is not None and row.get("needs_review", "").lower() == "true":
            return "needs_review"
        found = self.findings.get(doc_id, [])
        if seq and any(f.get("seq") == seq for f in found):
            return "row_finding"
        if found:
            return "document_finding"
        if self.status.get(doc_id) in ("needs_review", "failed"):
            return "document_status"
        return ""


class _DocScorer:
    """Compares one truth document with its output rows, tallying and recording every miss."""

    def __init__(self, truth: Document, name: str, flags: _Flags, mismatches: list[Mismatch]) -> None:
        self.truth = truth
        self.score = DocScore(name, truth.doc_id, rows_truth=len(truth.indicators))
        self.flags = flags
        self.mismatches = mismatches

    def check(self, tally: Tally, ok: bool, table: str, key: str, name: str, expected: object,
              observed: str | None, row: dict[str, str] | None) -> None:
        tally.add(ok)
        if not ok:
            via = self.flags.via(self.truth.doc_id, row, key if table == "indicators" else "")
            self.mismatches.append(
                Mismatch(self.score.name, self.truth.doc_id, table, key, name, _as_text(expected), observed, via))

    def document(self, out_doc: dict[str, str] | None) -> None:
        self.score.found = out_doc is not None
        for name in HEADER:
            expected = getattr(self.truth.header, name)
            observed = None if out_doc is None else out_doc.get(name, "")
            ok = observed is not None and observed == _as_text(expected)
            self.check(self.score.other, ok, "documents", "", name, expected, observed, None)
        for column, attr in TOTALS:
            expected = getattr(self.truth.totals, attr)
            observed = None if out_doc is None else out_doc.get(column, "")
            ok = observed is not None and same_number(expected, observed)
            self.check(self.score.numeric, ok, "documents", "", column, expected, observed, None)

    def funding(self, rows: dict[tuple[str, str], dict[str, str]]) -> None:
        for line in self.truth.funding:
            row = rows.get((self.truth.doc_id, line.item))
            for name in NUMERIC_FUNDING:
                expected = getattr(line, name)
                observed = None if row is None else row.get(name, "")
                ok = observed is not None and same_number(expected, observed)
                self.check(self.score.numeric, ok, "funding", line.item, name, expected, observed, row)

    def indicators(self, rows: dict[tuple[str, str], dict[str, str]]) -> None:
        for ind in self.truth.indicators:
            seq = str(ind.seq)
            row = rows.get((self.truth.doc_id, seq))
            self.score.rows_found += row is not None
            for name in NUMERIC_INDICATOR:
                expected = getattr(ind, name)
                observed = None if row is None else row.get(name, "")
                ok = observed is not None and same_number(expected, observed)
                self.check(self.score.numeric, ok, "indicators", seq, name, expected, observed, row)
            for name in TEXT_INDICATOR:
                expected = getattr(ind, name)
                observed = None if row is None else row.get(name, "")
                self._count_chars(expected, observed)
                self.check(self.score.text, observed == expected, "indicators", seq, name, expected, observed, row)
            for name in OTHER_INDICATOR:
                expected = getattr(ind, name)
                observed = None if row is None else row.get(name, "")
                ok = observed is not None and observed.strip() == _as_text(expected)
                self.check(self.score.other, ok, "indicators", seq, name, expected, observed, row)

    def _count_chars(self, expected: str, observed: str | None) -> None:
        """Character errors against the truth text, capped at its length (a lost cell = all wrong)."""
        if not expected:
            return
        self.score.chars += len(expected)
        errors = len(expected) if observed is None else edit_distance(expected, observed)
        self.score.char_errors += min(len(expected), errors)


def score_output(out_dir: Path, truth_dir: Path, names: list[str] | None = None) -> ScoreReport:
    """Compare the CSVs in `out_dir` with the truth JSON files in `truth_dir` (all, or `names`)."""
    paths = sorted(truth_dir.glob("*.json"))
    if names is not None:
        missing = set(names) - {p.stem for p in paths}
        if missing:
            raise FileNotFoundError(f"no truth for: {', '.join(sorted(missing))}")
        paths = [p for p in paths if p.stem in set(names)]
    documents = {r["doc_id"]: r for r in read_csv(out_dir / "documents.csv")}
    indicators = {(r["doc_id"], r["seq"].strip()): r for r in read_csv(out_dir / "indicators.csv")}
    funding = {(r["doc_id"], r["item"]): r for r in read_csv(out_dir / "funding.csv")}
    flags = _Flags(out_dir)
    mismatches: list[Mismatch] = []
    docs: list[DocScore] = []
    for path in paths:
        truths = truth_documents(path)
        for truth in truths:
            name = path.stem if len(truths) == 1 else f"{path.stem}#{truth.form_index}"
            scorer = _DocScorer(truth, name, flags, mismatches)
            scorer.document(documents.get(scorer.truth.doc_id))
            scorer.funding(funding)
            scorer.indicators(indicators)
            docs.append(scorer.score)
    return ScoreReport(docs, mismatches)


def truth_documents(path: Path) -> list[Document]:
    """A truth file's documents: one, or the list of the forms a file binds."""
    data = json.loads(path.read_text("utf-8"))
    return [Document.model_validate(d) for d in (data if isinstance(data, list) else [data])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmark.scoring", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="a perfscan output folder")
    parser.add_argument("--truth", type=Path, default=Path("fixtures/truth"), help="folder of truth JSON files")
    parser.add_argument("--names", nargs="+", help="score only these fixtures (truth file names without .json)")
    parser.add_argument("--json", type=Path, help="where to write the full report (default OUT_DIR/score.json)")
    args = parser.parse_args(argv)
    if not args.truth.is_dir():
        parser.error(f"truth folder not found: {args.truth}")
    try:
        report = score_output(args.out_dir, args.truth, args.names)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    print(report.table())
    target = args.json or args.out_dir / "score.json"
    target.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"report: {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
