"""A document's table grids parked in an unlinked temporary file while its pages are being read.

Why: `build_form` needs every page's grids at once, so `process_file` keeps them until the last
page. As Python objects they are ~48 KB per scanned page (~130 cells, each with its box), and they
sat among the page-sized buffers of the pages still to come: a worker's peak memory grew with
the length of the document (500 pages: +31 MB, steadily). Pickled as they are read they are
~9 KB per page, ~1 ms each way, and cost no memory until the last page is done — when the page
images and OCR tensors are gone and there is room for them.

The file is created unlinked (`tempfile.TemporaryFile`), so a killed worker leaves nothing
behind; it lives in the system's temporary folder (`TMPDIR`) — where that is a tmpfs the bytes are
still in memory, but a fifth of the objects' size and outside the worker's own peak.
"""

from __future__ import annotations

import pickle
import tempfile
from types import TracebackType
from typing import Self

from ..types import TableGrid


class GridSpool:
    """Append one page's grids at a time; `read_all` gives them back, in the order they came."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="perfscan-grids-")  # noqa: SIM115 — closed by __exit__

    def add(self, grids: list[TableGrid]) -> None:
        pickle.dump(grids, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def read_all(self) -> list[TableGrid]:
        self._file.flush()
        self._file.seek(0)
        grids: list[TableGrid] = []
        while True:
            try:
                grids.extend(pickle.load(self._file))
            except EOFError:
                return grids

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._file.close()
