"""Sidecar naming (duplicate base names), reading, and the no-Qt import rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.library import sidecars
from desktop_app.library.sidecars import (
    clear_sidecar_cache,
    normalize_sidecar_ext,
    read_sidecar,
    sidecar_bases,
    sidecar_path,
)
from tests.library.conftest import make_files

REPO = Path(__file__).resolve().parents[2]


def test_plain_names_replace_the_suffix() -> None:
    assert sidecar_bases(["photo.jpg", "clip.mp4"]) == {"photo.jpg": "photo", "clip.mp4": "clip"}


def test_only_colliding_names_use_the_full_name() -> None:
    bases = sidecar_bases(["a.jpg", "a.png", "b.jpg", "A.webp"])
    assert bases == {"a.jpg": "a.jpg", "a.png": "a.png", "b.jpg": "b", "A.webp": "A.webp"}


def test_collision_rule_reaches_a_fixed_point() -> None:
    # a.jpg's full name "a.jpg" equals the short base of "a.jpg.png": both must go full.
    bases = sidecar_bases(["a.jpg", "a.png", "a.jpg.png"])
    assert bases == {"a.jpg": "a.jpg", "a.png": "a.png", "a.jpg.png": "a.jpg.png"}
    assert len({b.casefold() for b in bases.values()}) == 3


def test_sidecar_path_reads_siblings_from_disk(tmp_path: Path) -> None:
    make_files(tmp_path, ["a.jpg", "a.png", "b.jpg", ".a.gif", "a.txt", "c.jpg"])
    assert sidecar_path(tmp_path / "c.jpg") == tmp_path / "c.txt"
    make_files(tmp_path, ["c.webp"])
    clear_sidecar_cache()
    assert sidecar_path(tmp_path / "c.jpg") == tmp_path / "c.jpg.txt"
    assert sidecar_path(tmp_path / "a.jpg") == tmp_path / "a.jpg.txt"
    assert sidecar_path(tmp_path / "b.jpg", "caption") == tmp_path / "b.caption"
    assert sidecar_path(tmp_path / "c.jpg", siblings=["c.jpg", "c.png"]).name == "c.jpg.txt"
    assert sidecar_path(tmp_path / "sub" / "new.jpg").name == "new.txt"  # folder need not exist


def test_sidecar_path_lists_a_big_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = str(tmp_path / "img")
    for i in range(3000):
        os.close(os.open(f"{prefix}{i}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
    listings = []
    real_scandir = os.scandir

    def counting_scandir(path: str) -> object:
        listings.append(path)
        return real_scandir(path)

    monkeypatch.setattr(sidecars.os, "scandir", counting_scandir)
    clear_sidecar_cache()
    paths = [sidecar_path(f"{prefix}{i}.jpg") for i in range(3000)]
    assert paths[5].name == "img5.txt"
    assert len(listings) <= 3  # not once per file: that is quadratic on 100,000 files


@pytest.mark.parametrize("bad", ["", ".", "a/b", "..", "x\\y"])
def test_bad_extensions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_sidecar_ext(bad)


def test_read_sidecar_strips_bom_and_trailing_newlines(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfline one\r\nline two\r\n\r\n")
    assert read_sidecar(path) == "line one\r\nline two"
    path.write_bytes(b"bad \xff byte")
    assert read_sidecar(path) == "bad \ufffd byte"


def test_library_imports_no_qt_and_no_torch() -> None:
    code = (
        "import sys, desktop_app.library, desktop_app.library.export, desktop_app.library.exporters;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'transformers')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
