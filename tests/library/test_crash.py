"""kill -9 while results are being recorded: nothing committed is lost, nothing is corrupted."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.library import Library
from tests.library.conftest import make_files

REPO = Path(__file__).resolve().parents[2]
FILES = 40

CHILD = """
import sys
from desktop_app.library import Library, RunPolicy

root, data, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
library = Library.open(root, data_dir=data)
i = start
while True:
    rel = f"img{i % %(files)d}.png"
    if i % 5 == 4:
        library.record_edit(rel, f"caption {i}")
    else:
        library.record_result(rel, f"caption {i}", [f"caption {i}", f"variant {i}"],
                              {"model": "tiny", "seed": i}, policy=RunPolicy.OVERWRITE_ALL)
    print(i, flush=True)  # printed only after the call returned, i.e. after the commit
    i += 1
""".replace("%(files)d", str(FILES))


def run_and_kill(script: Path, media: Path, data: Path, start: int, after: int) -> list[int]:
    """Run the child until it reported `after` commits, SIGKILL it, return every reported index."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, str(script), str(media), str(data), str(start)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    reported: list[int] = []
    try:
        for line in child.stdout:
            reported.append(int(line))
            if len(reported) >= after:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        rest, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err
    reported += [int(x) for x in rest.split()]  # printed before the kill landed: committed too
    return reported


def check(library: Library, reported: list[int]) -> None:
    """Every reported caption is in its file's history, and no file went backwards."""
    last: dict[str, int] = {}
    for i in reported:
        last[f"img{i % FILES}.png"] = i
    for rel, i in last.items():
        captions = [h.caption for h in library.history(rel)]
        expected = {f"caption {j}" for j in reported if f"img{j % FILES}.png" == rel}
        assert expected <= set(captions), rel
        record = library.item(rel)
        assert record is not None
        assert int(record.caption.split()[1]) >= i, (rel, record.caption, i)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_loses_nothing_committed(tmp_path: Path, media: Path) -> None:
    make_files(media, [f"img{i}.png" for i in range(FILES)])
    data = tmp_path / "data"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    everything: list[int] = []
    for round_number, after in enumerate((60, 130, 25)):
        everything += run_and_kill(script, media, data, start=round_number * 100_000, after=after)
        library = Library.open(media, data_dir=data)
        try:
            conn = sqlite3.connect(library.db.path)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            conn.close()
            check(library, everything)
        finally:
            library.close()
