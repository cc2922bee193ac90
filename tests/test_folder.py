"""The output folder's files (`outputs/folder.py`): atomic writes, a file's forms written and
replaced together, page images where their record points, damaged records found and set aside.
Real files in temporary folders."""

from __future__ import annotations

import os
import stat

from pipeline.outputs.folder import FILE_MODE, QUARANTINE, OutputFolder, atomic_write, page_image_name
from pipeline.records import Document


def doc(doc_id: str, **update) -> Document:
    return Document(doc_id=doc_id, source_path="/in/a.pdf", sha256=doc_id.split("-")[0] * 4, pages=1, **update)


def test_atomic_write_leaves_the_file_whole_with_the_usual_mode_and_no_temp_file(tmp_path):
    target = tmp_path / "deep" / "documents.csv"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == FILE_MODE
    assert [p.name for p in target.parent.iterdir()] == ["documents.csv"]


def test_a_files_forms_are_written_together_and_forms_no_longer_read_go(tmp_path):
    first, second, third = doc("ab12"), doc("ab12-2"), doc("ab12-3")
    OutputFolder(tmp_path).write_records([first, second, third])
    assert [p.name for p in OutputFolder(tmp_path).form_records("ab12")] == ["ab12-2.json", "ab12-3.json", "ab12.json"]
    OutputFolder(tmp_path).write_records([first, second])  # read again, it binds two forms
    assert [p.name for p in OutputFolder(tmp_path).form_records("ab12")] == ["ab12-2.json", "ab12.json"]
    docs, damaged = OutputFolder(tmp_path).load_records()
    assert [d.doc_id for d in docs] == ["ab12", "ab12-2"] and damaged == []
    assert docs[0] == first


def test_page_images_go_where_the_record_points(tmp_path):
    name = page_image_name("ab12", 3)
    OutputFolder(tmp_path).write_records([doc("ab12", page_images={3: name})], {3: b"\xff\xd8jpeg"})
    assert (tmp_path / name).read_bytes() == b"\xff\xd8jpeg" and name == "pages/ab12-p3.jpg"


def test_damaged_records_are_found_and_set_aside_not_deleted(tmp_path):
    OutputFolder(tmp_path).write_records([doc("ab12")])
    bad = tmp_path / "records" / "cd34.json"
    bad.write_bytes(b'{"doc_id": "cd34", trunc')
    docs, damaged = OutputFolder(tmp_path).load_records()
    assert [d.doc_id for d in docs] == ["ab12"] and damaged == [bad]
    where = OutputFolder(tmp_path).quarantine(bad)
    assert where.startswith(f"{QUARANTINE}/cd34.json.") and not bad.exists()
    assert (tmp_path / where).read_bytes() == b'{"doc_id": "cd34", trunc'
