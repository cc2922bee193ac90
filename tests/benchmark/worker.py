"""One peer in its own process: load it, read the pages, write rows and per-page seconds as JSON.

    python -m tests.benchmark.worker PEER --threads N --result FILE FIXTURE...

Started by `run.py` through `measure.run_measured`, so that the peak memory and CPU time it
reports belong to this peer alone. Loading (imports, sessions, a warm-up read of the top of the
first page) is timed apart from the pages: perfscan pays its own start-up once per worker too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

from .corpus import pages, render

PEERS: dict[str, tuple[str, str]] = {
    "paddleocr": ("tests.benchmark.peer_paddleocr", "PaddleOcrPeer"),
    "rapidtable": ("tests.benchmark.peer_rapidtable", "RapidTablePeer"),
    "tesseract": ("tests.benchmark.peer_tesseract", "TesseractPeer"),
    "camelot": ("tests.benchmark.peer_camelot", "CamelotPeer"),
}
PAGE_STRIDE = 100_000  # y offset per page, so one document's rows stay in page order


def peer_class(name: str) -> type:
    module, cls = PEERS[name]
    return getattr(importlib.import_module(module), cls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmark.worker")
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("fixtures", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    todo = pages(args.fixtures)
    start = time.perf_counter()
    first = render(todo[0])
    peer = peer_class(args.peer)(args.threads, first[: first.shape[0] // 4])
    startup = time.perf_counter() - start
    done = []
    for page in todo:
        t0 = time.perf_counter()
        rows = peer.read(page)
        seconds = time.perf_counter() - t0
        offset = page.index * PAGE_STRIDE
        done.append({
            "fixture": page.fixture, "page": page.index + 1, "seconds": round(seconds, 3),
            "rows": [[[t.text, t.x0, t.y0 + offset, t.x1, t.y1 + offset] for t in row] for row in rows],
        })
    args.result.write_text(json.dumps({"peer": args.peer, "startup_s": round(startup, 3), "pages": done},
                                      ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
