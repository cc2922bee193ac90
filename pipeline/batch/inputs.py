"""The inputs of a batch: which files, what content, and what we could not take. Read-only, always.

Discovery walks folders, following links to folders but never back into a real folder it is already
inside, so a link back to an ancestor cannot loop, and never into the output folder, whatever link
leads there ("results next to the scans": its page images would come back as documents, one more
copy per run). Real paths are compared for every folder walked and every file taken; what discovery
cannot take is reported with a reason, not raised.

Each file is then named by its content: a sha256 over one read-only, non-blocking descriptor (a FIFO
named `x.pdf` cannot hang the batch), with the file's stat checked before and after so that a file
being written is caught. A file over the size limit is refused before a byte of it is read (a 100 GB
sparse file named `.pdf` took minutes to hash, then was not a PDF). A file whose stat fields are
unchanged since the last run, and which had been stable for a while when it was hashed then, keeps
its hash (git's index does the same), so a nightly run does not re-read every input. The worker gets
the hash with its task and does not read the file a second time to make it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UnreadableInput, UsageError
from .state import Signature, SourceRow

PDF_AND_IMAGES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
TEXT_EXTRACTIONS = frozenset({".txt", ".tsv"})

# A file modified less than this long before it was hashed may change again within the same
# timestamp tick; its cached hash is not trusted ("racy" entries in git's terms).
_STABLE_NS = 2_000_000_000
_BLOCK = 1 << 20


def display_path(path: Path | str) -> str:
    """The path as one printable line: undecodable bytes as \\xNN, control characters escaped.

    Records, CSVs and log lines carry this; the real path (bytes) stays in the state database.
    """
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


def path_key(path: Path) -> bytes:
    """The state database's key for a source path: its absolute form, as bytes (any name is valid)."""
    return os.fsencode(os.path.abspath(path))


@dataclass(frozen=True)
class NotTaken:
    """Something under an input folder that is not a document, and why (shown in the run summary).

    `link` marks a link that was not followed (a loop, or a way into the output folder): the
    operator is warned, since the folder tree is probably not what they meant it to be."""

    path: Path
    reason: str
    link: bool = False


@dataclass(frozen=True)
class Discovery:
    files: list[Path]
    not_taken: list[NotTaken]
    # Folders named on the command line with no document under them (an unmounted share?).
    empty: list[Path] = field(default_factory=list)


def check_layout(inputs: Iterable[Path], out_dir: Path) -> None:
    """Refuse an output folder inside an input folder, and inputs inside the output folder.

    Refused rather than skipped: outputs written into an input tree are inputs of the next run (the
    review page images are .jpg), and writing there would modify the input tree, which a run never does.
    """
    out_real = Path(os.path.realpath(out_dir))
    for path in inputs:
        real = Path(os.path.realpath(path))
        if os.path.isdir(path) and (out_real == real or real in out_real.parents):
            raise UsageError(
                f"the output folder {display_path(out_dir)} is inside the input folder {display_path(path)}; "
                "choose an --out outside the inputs (its page images would be read as inputs next time)"
            )
        if out_real == real or out_real in real.parents:
            raise UsageError(f"the input {display_path(path)} is inside the output folder {display_path(out_dir)}")


def discover(paths: Iterable[Path], suffixes: frozenset[str], out_dir: Path) -> Discovery:
    """Files named on the command line (whatever their suffix) and, under folders, files with `suffixes`,
    none of them inside `out_dir` (`check_layout` has refused that for the paths named).

    Folder contents come in sorted order, so which of two identical files counts as the original is
    the same on every run.
    """
    files: list[Path] = []
    not_taken: list[NotTaken] = []
    seen_files: set[str] = set()
    empty: list[Path] = []
    found = [0]  # files met under the folder being walked, the ones met before included

    def add(path: Path) -> None:
        found[0] += 1
        key = os.path.abspath(path)
        if key not in seen_files:
            seen_files.add(key)
            files.append(path)

    for path in paths:
        if os.path.isdir(path):
            found[0] = 0
            _walk(path, suffixes, add, not_taken, {os.path.realpath(path)}, os.path.realpath(out_dir))
            if not found[0]:
                empty.append(path)
        else:
            add(path)
    return Discovery(files, not_taken, empty)


def _walk(
    folder: Path,
    suffixes: frozenset[str],
    add: Callable[[Path], None],
    not_taken: list[NotTaken],
    ancestors: set[str],
    out_real: str,
) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        not_taken.append(NotTaken(folder, f"cannot list the folder ({exc.strerror or exc})"))
        return
    for entry in entries:
        path = folder / entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            real = os.path.realpath(path)
            if real in ancestors:
                not_taken.append(NotTaken(path, f"link loop: leads back to {display_path(real)}, not followed", True))
            elif _within(real, out_real):
                not_taken.append(NotTaken(path, "leads into the output folder, not followed", True))
            else:
                _walk(path, suffixes, add, not_taken, ancestors | {real}, out_real)
        elif os.path.splitext(entry.name)[1].lower() in suffixes:
            if entry.is_symlink() and _within(os.path.realpath(path), out_real):
                not_taken.append(NotTaken(path, "a link to a file in the output folder, not taken", True))
            else:
                add(path)


def _within(real: str, folder_real: str) -> bool:
    """Is the real path `real` the folder `folder_real` or inside it?"""
    return real == folder_real or real.startswith(folder_real.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Identity:
    """A file's content hash and the stat signature it was hashed under."""

    sha256: str
    signature: Signature
    hashed_at_ns: int

    def source_row(self, path: Path) -> SourceRow:
        return SourceRow(path_key(path), self.sha256, self.signature, self.hashed_at_ns)


class InputChanged(Exception):
    """The file changed while it was being hashed (being copied or written right now)."""


class InputTooBig(Exception):
    """The file is over the size limit (`--max-file-size`): it was not read."""


def signature_of(st: os.stat_result) -> Signature:
    return Signature(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def identify(path: Path, cached: SourceRow | None, force: bool = False, max_size: int = 0) -> Identity:
    """Content hash of `path`, reusing `cached` when the file provably has not changed since.
    A file over `max_size` bytes (0: no limit) raises `InputTooBig` without being read; one that cannot be
    read raises `UnreadableInput`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnreadableInput(_open_error(path, exc)) from exc
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise UnreadableInput(f"not a regular file ({_kind(before.st_mode)})")
        if max_size and before.st_size > max_size:
            raise InputTooBig(f"the file is {_size(before.st_size)}, over the size limit of {_size(max_size)} "
                              "(--max-file-size); it was not read")
        sig = signature_of(before)
        if (
            not force
            and cached is not None
            and cached.signature == sig
            and cached.hashed_at_ns - sig.mtime_ns > _STABLE_NS
        ):
            return Identity(cached.sha256, sig, cached.hashed_at_ns)
        digest = hashlib.sha256()
        try:
            while block := os.read(fd, _BLOCK):
                digest.update(block)
        except OSError as exc:
            raise UnreadableInput(f"read error ({exc.strerror or exc})") from exc
        after = os.fstat(fd)
        if signature_of(after) != sig:
            raise InputChanged(
                f"the file changed while it was being read ({sig.size} → {after.st_size} bytes); "
                "it is probably still being written — it will be tried again on the next run"
            )
        return Identity(digest.hexdigest(), sig, time.time_ns())
    finally:
        os.close(fd)


def _size(n: int) -> str:
    """Bytes in words: 512 KB, 1.5 MB, 100 GB."""
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _open_error(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points, directly or not, at itself)"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"broken symbolic link (it points at {display_path(os.readlink(path))}, which does not exist)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the file is not readable by this user)"
    return f"cannot open it ({exc.strerror or exc})"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a plain file"
