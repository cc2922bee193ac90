"""The command line an operator (or cron) sees: options, exit codes, the three kinds of log."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from pipeline.cli import main, size_mb
from tests.batchfiles import REPO, fixture, read_csv, text_form, write_text_forms

NEW_OPTIONS = ("--workers", "--doc-timeout", "--memory-limit", "--executor", "--scheduler", "--json-log", "--force",
               "--config", "--retry-failed", "--allow-empty")


@pytest.mark.parametrize("command", ["run", "import-text"])
def test_help_lists_every_option(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert all(option in text for option in NEW_OPTIONS)
    assert ("--engine" in text) == (command == "run")


@pytest.mark.parametrize("text, mb", [("2G", 2048), ("1536M", 1536), ("2GiB", 2048), ("512", 512), ("0", 0),
                                      ("1.5g", 1536), ("4096 MB", 4096)])
def test_memory_limit_sizes(text, mb):
    assert size_mb(text) == mb


@pytest.mark.parametrize("args", [
    ["--workers", "0"], ["--doc-timeout", "0"], ["--doc-timeout", "soon"], ["--memory-limit", "lots"],
    ["--executor", "ray"], ["--executor", "dask"], ["--executor", "local", "--scheduler", "tcp://127.0.0.1:8786"],
])
def test_bad_options_exit_1(tmp_path, args):
    write_text_forms(tmp_path / "in", 1)
    assert main(["import-text", str(tmp_path / "in"), "--out", str(tmp_path / "out"), *args]) == 1
    assert not (tmp_path / "out" / "records").exists()


def test_a_document_over_its_time_limit_fails_and_the_exit_code_says_so(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(fixture("u000_digital")), "--out", str(out), "--doc-timeout", "0.01",
                 "--page-timeout", "0.001"]) == 2
    (doc,) = read_csv(out / "documents.csv")
    assert doc["status"] == "failed"
    assert doc["message"] == ("u000_digital.pdf: took longer than 0.01 s (--doc-timeout); its worker was stopped")


def test_json_log_is_one_object_per_line_on_stdout(tmp_path, capsys):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 2)
    (inputs / "broken.txt").write_bytes(b"\x00\x01binary")
    (inputs / "zz-again.txt").write_bytes((inputs / "form-000.txt").read_bytes())
    assert main(["import-text", str(inputs), "--out", str(tmp_path / "out"), "--json-log", "--xlsx"]) == 2
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert captured.err == ""
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "summary"
    by_path = {Path(e["path"]).name: e for e in events if e["event"] == "document"}
    assert by_path["form-000.txt"]["status"] == "ok" and by_path["form-000.txt"]["pages"] == 1
    assert by_path["broken.txt"]["status"] == "failed" and "binary" in by_path["broken.txt"]["message"]
    assert by_path["zz-again.txt"]["action"] == "duplicate"
    summary = events[-1]
    assert (summary["processed"], summary["ok"], summary["failed"], summary["duplicates"]) == (3, 2, 1, 1)
    assert (tmp_path / "out" / "perfscan.xlsx").stat().st_size > 0


def _cli(*args: str | Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          timeout=120, **kw)


def test_cron_gets_a_few_plain_lines(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 3)
    (inputs / "empty.txt").write_bytes(b"")
    done = _cli("import-text", inputs, "--out", tmp_path / "out")
    assert done.returncode == 2 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 3, lines  # start, the failure, the summary: nothing per good document
    assert lines[0].startswith("perfscan import-text: 4 inputs, 4 to do")
    assert lines[1].endswith("empty.txt: failed — empty.txt: the file is empty")
    assert lines[2].startswith("done: 4 inputs — 4 processed (3 ok, 0 needs_review, 0 skipped, 1 failed)")
    again = _cli("import-text", inputs, "--out", tmp_path / "out")
    assert again.returncode == 2  # the empty file still stands failed
    assert "3 already done (1 of them failed)" not in again.stderr.decode()
    assert "4 already done (1 of them failed)" in again.stderr.decode()


def test_a_terminal_gets_a_progress_bar(tmp_path):
    inputs = tmp_path / "in"
    write_text_forms(inputs, 3)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "import-text", str(inputs), "--out",
                             str(tmp_path / "out")], cwd=REPO, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other side is closed, the run is over
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = screen.decode("utf-8", "replace")
    assert "perfscan: 100%" in text and "3/3" in text and "3 pages" in text and "doc/s" in text, text


def test_exit_0_when_every_document_is_ok_or_needs_review(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "ok.txt").write_text(text_form("好单位"), encoding="utf-8")
    review = text_form("要复核的单位").replace("25.00\t25.00", "25.00\t24.00")  # the 总分 no longer adds up
    (inputs / "review.txt").write_text(review, encoding="utf-8")
    assert main(["import-text", str(inputs), "--out", str(tmp_path / "out")]) == 0
    assert {d["status"] for d in read_csv(tmp_path / "out" / "documents.csv")} == {"ok", "needs_review"}
