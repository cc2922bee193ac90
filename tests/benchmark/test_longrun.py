"""The long-run corpus and its table, without running perfscan (milliseconds)."""

from __future__ import annotations

import hashlib

import pypdfium2 as pdfium

from .corpus import manifest
from .longrun import LongRunResult, Part, build_corpus, table


def test_the_corpus_is_distinct_copies_of_the_scanned_forms(tmp_path):
    documents, pages = build_corpus(30, tmp_path)
    files = sorted(tmp_path.iterdir())
    assert len(files) == documents and pages >= 30
    assert len({hashlib.sha256(f.read_bytes()).digest() for f in files}) == documents  # none a duplicate
    for f in files[:3]:
        pdf = pdfium.PdfDocument(f)
        try:
            assert len(pdf) == manifest()[f.stem.split("_", 1)[1]]["pages"]  # still a whole, valid PDF
        finally:
            pdf.close()


def test_the_verdict_compares_the_last_tenth_with_the_first():
    parts = [Part(1, 100, 50, 60.0, 600.0), Part(101, 200, 50, 61.0, 710.0)]
    text = table(LongRunResult(200, 100, 0, 400.0, parts, {"ok": 100}))
    assert "| 101–200 | 50 | 61 | 710 |" in text
    assert "coordinator +2%, worker +18%; within 20%: yes." in text
    parts[-1].worker_mb = 740.0
    assert "worker +23%; within 20%: no." in table(LongRunResult(200, 100, 0, 400.0, parts))
