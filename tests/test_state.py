"""state.sqlite: what is done, for which settings; which paths hold which content; what a run
supersedes; damage and another version's file told apart. Real databases in temporary folders."""

from __future__ import annotations

import sqlite3

import pytest

from pipeline.batch.state import (
    FINAL_TIMEOUTS,
    DocumentRow,
    Signature,
    SourceRow,
    StateDamaged,
    StateStore,
    config_hash,
)
from pipeline.config import Config
from pipeline.errors import UsageError

SIG = Signature(size=10, mtime_ns=1, ctime_ns=1, inode=1, device=1)


def row(sha: str, status: str = "ok", failure: str = "", engine: str = "rapidocr", settings: str = "s1",
        timeouts: int = 0) -> DocumentRow:
    return DocumentRow(sha256=sha, doc_id=sha[:16], source_path=f"/in/{sha}.pdf", status=status, failure=failure,
                       message="", engine=engine, config_hash=settings, timeouts=timeouts)


def source(path: bytes, sha: str) -> SourceRow:
    return SourceRow(path, sha, SIG, hashed_at_ns=5)


@pytest.fixture
def store(tmp_path):
    state = StateStore(tmp_path / "state.sqlite")
    state.begin_run("run")
    yield state
    state.close()


def test_settings_hash_follows_what_changes_a_documents_outcome_only():
    cfg = Config()
    base = config_hash(cfg, b"forms")
    faster = cfg.model_copy(update={
        "batch": cfg.batch.model_copy(update={"workers": 4}),
        "ocr": cfg.ocr.model_copy(update={"threads": 3}),
    })
    assert config_hash(faster, b"forms") == base  # how fast it runs redoes nothing
    finer = cfg.model_copy(update={"imaging": cfg.imaging.model_copy(update={"dpi": 300})})
    assert config_hash(finer, b"forms") != base
    assert config_hash(cfg, b"other forms") != base  # an edited catalogue is another setting


def test_a_document_is_done_for_its_engine_and_settings_and_read_back_as_committed(store):
    store.commit(row("a" * 64), [source(b"/in/a.pdf", "a" * 64)])
    done = store.document("a" * 64)
    assert done == row("a" * 64)
    assert done.is_done("rapidocr", "s1")
    assert not done.is_done("tesseract", "s1") and not done.is_done("rapidocr", "s2")
    assert store.source(b"/in/a.pdf") == source(b"/in/a.pdf", "a" * 64)
    assert store.paths_of("a" * 64) == [b"/in/a.pdf"]
    assert store.document("b" * 64) is None and store.source(b"/in/b.pdf") is None


def test_only_the_files_own_failures_and_repeated_timeouts_are_final(store):
    assert row("c" * 64, "failed", "input").is_done("rapidocr", "s1")
    assert not row("c" * 64, "failed", "crash").is_done("rapidocr", "s1")
    assert not row("c" * 64, "failed", "timeout", timeouts=FINAL_TIMEOUTS - 1).is_done("rapidocr", "s1")
    slow = row("c" * 64, "failed", "timeout", timeouts=FINAL_TIMEOUTS)
    assert slow.too_slow and slow.is_done("rapidocr", "s1")
    store.commit(row("d" * 64, "failed", "crash"), [])
    assert [d.sha256 for d in store.failed()] == ["d" * 64]


def test_a_path_holding_new_content_supersedes_the_old_unless_another_existing_path_holds_it(store, tmp_path):
    gone = str(tmp_path / "gone.pdf").encode()
    store.commit(row("a" * 64), [source(gone, "a" * 64)])
    assert store.commit(row("b" * 64), [source(gone, "b" * 64)]) == ["a" * 64]
    assert store.document("a" * 64).status == "superseded"
    assert [d.sha256 for d in store.superseded()] == ["a" * 64]
    store.forget("a" * 64)
    assert store.document("a" * 64) is None

    kept = tmp_path / "copy.pdf"
    kept.write_bytes(b"%PDF")
    store.commit(row("e" * 64), [source(gone, "e" * 64), source(str(kept).encode(), "e" * 64)])
    assert store.commit(row("f" * 64), [source(gone, "f" * 64)]) == []  # the copy still holds it
    assert store.document("e" * 64).status == "ok"


def test_rename_undo_and_meta(store):
    store.commit(row("a" * 64), [])
    store.rename("a" * 64, "/in/renamed.pdf")
    assert store.document("a" * 64).source_path == "/in/renamed.pdf"
    store.undo("a" * 16)
    assert store.document("a" * 64) is None
    store.set_meta("lock", "x")
    assert store.meta("lock") == "x" and store.meta("missing") is None
    store.end_run("ok", {"processed": 1})


def test_a_damaged_file_is_damage_and_another_versions_file_is_refused(tmp_path):
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateDamaged):
        StateStore(damaged)
    other = tmp_path / "other.sqlite"
    StateStore(other).close()
    with sqlite3.connect(other) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(UsageError, match="another version of perfscan"):
        StateStore(other)
