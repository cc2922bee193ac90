"""How perfscan's cost grows with the pages of one document: 10, 100, 500 pages by default.

Long documents are made by concatenating the scanned pages of a fixture over and over with
pypdfium2 (page objects are copied, images not re-encoded), so every size reads the same kind
of page and any growth beyond linear is the pipeline's. The issue's bar: the time for N pages
within 10% of N/N0 times the time for the smallest size N0, and peak memory flat (within 10%).
Coming in under linear passes: the smallest document carries the engine's first-page costs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from .corpus import pdf_path
from .perfscan_run import run_perfscan

LINEAR_TOLERANCE = 0.10
DEFAULT_SIZES = (10, 100, 500)


@dataclass
class LongDocResult:
    pages: int
    wall_s: float
    doc_s: float | None  # the document's own seconds from perfscan's log
    peak_tree_mb: float
    max_process_mb: float
    status: str


def build_long_pdf(source: str, pages: int, target: Path) -> Path:
    """A PDF of `pages` pages: the fixture's pages repeated in order."""
    src = pdfium.PdfDocument(pdf_path(source))
    out = pdfium.PdfDocument.new()
    try:
        n = len(src)
        for start in range(0, pages, n):
            out.import_pages(src, list(range(min(n, pages - start))))
        out.save(target)
    finally:
        out.close()
        src.close()
    return target


def measure_sizes(source: str, sizes: list[int], seconds_per_page: float) -> list[LongDocResult]:
    """perfscan (one worker) on a long document of each size; the timeout grows with the size."""
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-longdoc-") as tmp:
            pdf = build_long_pdf(source, size, Path(tmp) / f"long_{size}.pdf")
            limit = 120 + seconds_per_page * size
            run = run_perfscan([pdf], Path(tmp) / "out", 1, timeout_s=limit + 60, doc_timeout_s=limit)
        doc = run.docs[0] if run.docs else None
        status = "timed out" if run.measured.timed_out else (doc.status if doc else f"exit {run.measured.returncode}")
        results.append(LongDocResult(size, run.measured.wall_s, doc.seconds if doc else None,
                                     run.measured.peak_tree_mb, run.measured.max_process_mb, status))
    return results


def table(results: list[LongDocResult]) -> str:
    """Seconds and memory per size, each against linear growth from the smallest size."""
    lines = ["| pages | status | document s | s/page | vs linear from smallest | peak RSS MB (largest process) "
             "| peak RSS MB (tree) | at most 10% over linear | memory flat |",
             "|" + "|".join("---" for _ in range(9)) + "|"]
    base = next((r for r in results if r.doc_s), None)
    for r in results:
        ratio = (r.doc_s / (base.doc_s * r.pages / base.pages)) if base and r.doc_s else None
        flat = base is not None and r.max_process_mb <= base.max_process_mb * (1 + LINEAR_TOLERANCE)
        lines.append(
            f"| {r.pages} | {r.status} | {'—' if r.doc_s is None else f'{r.doc_s:.1f}'} "
            f"| {'—' if r.doc_s is None else f'{r.doc_s / r.pages:.2f}'} "
            f"| {'—' if ratio is None else f'{ratio:.2f}×'} | {r.max_process_mb:.0f} | {r.peak_tree_mb:.0f} "
            f"| {'—' if ratio is None else ('yes' if ratio <= 1 + LINEAR_TOLERANCE else 'no')} "
            f"| {'yes' if flat else 'no'} |"
        )
    return "\n".join(lines)
