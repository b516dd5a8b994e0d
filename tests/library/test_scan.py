"""Folder scan: order, recursion, hidden files, symlink loops, odd names, speed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from desktop_app.library import Library
from desktop_app.library.scan import (
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    natural_key,
    scan_folder,
)
from tests.library.conftest import make_files


def names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_extension_constants_cover_the_product_list() -> None:
    for ext in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"):
        assert ext in IMAGE_EXTENSIONS
    for ext in (".mp4", ".mov", ".mkv", ".webm", ".avi"):
        assert ext in VIDEO_EXTENSIONS
    assert MEDIA_EXTENSIONS == IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


def test_natural_sort_is_numeric_and_case_insensitive(media: Path) -> None:
    make_files(media, ["img10.png", "img2.png", "IMG1.png", "img1b.png", "b.jpg", "A.jpg"])
    assert names(scan_folder(media), media) == ["A.jpg", "b.jpg", "IMG1.png", "img1b.png", "img2.png", "img10.png"]
    assert natural_key("img2") < natural_key("img10")


def test_non_recursive_by_default_recursive_on_request(media: Path) -> None:
    make_files(media, ["top.jpg", "sub/inner.jpg", "sub/deeper/deep.png"])
    assert names(scan_folder(media), media) == ["top.jpg"]
    assert names(scan_folder(media, recursive=True), media) == ["sub/deeper/deep.png", "sub/inner.jpg", "top.jpg"]


def test_hidden_files_and_folders_are_skipped(media: Path) -> None:
    make_files(media, [".hidden.jpg", ".cache/thumb.jpg", "visible.jpg", "sub/.x.png", "sub/ok.png"])
    assert names(scan_folder(media, recursive=True), media) == ["sub/ok.png", "visible.jpg"]


def test_uppercase_extensions_and_non_media_files(media: Path) -> None:
    make_files(media, ["a.JPG", "b.PnG", "c.MP4", "notes.txt", "d.jpg.txt", "e.xmp", "noext", "f.Tiff"])
    assert names(scan_folder(media), media) == ["a.JPG", "b.PnG", "c.MP4", "f.Tiff"]


def test_unicode_and_space_names(media: Path) -> None:
    odd = ["café au lait.jpg", "日本 語.png", "emoji 😀.webp", "sub dir/x y.gif"]
    make_files(media, odd)
    found = names(scan_folder(media, recursive=True), media)
    assert sorted(found) == sorted(odd)


def test_extensions_argument_restricts_the_scan(media: Path) -> None:
    make_files(media, ["a.jpg", "b.mp4", "c.png"])
    assert names(scan_folder(media, extensions=["MP4"]), media) == ["b.mp4"]
    assert names(scan_folder(media, extensions=[".jpg", "png"]), media) == ["a.jpg", "c.png"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loop_terminates(media: Path) -> None:
    make_files(media, ["a.jpg", "sub/b.jpg"])
    os.symlink(media, media / "sub" / "loop")
    os.symlink(media / "sub", media / "sub" / "self")
    found = names(scan_folder(media, recursive=True), media)
    assert found == ["a.jpg", "sub/b.jpg"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_broken_symlink_is_ignored(media: Path) -> None:
    make_files(media, ["a.jpg"])
    os.symlink(media / "gone.jpg", media / "broken.jpg")
    assert names(scan_folder(media), media) == ["a.jpg"]


def test_vanished_file_is_not_listed(media: Path) -> None:
    paths = make_files(media, ["a.jpg", "b.jpg"])
    paths[0].unlink()
    assert names(scan_folder(media), media) == ["b.jpg"]


def test_not_a_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        scan_folder(tmp_path / "missing")


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 empty images in four subfolders, a quarter of them with a sidecar."""
    root = tmp_path_factory.mktemp("big")
    for d in range(4):
        folder = root / f"part{d}"
        folder.mkdir()
        prefix = os.path.join(folder, "img")
        for i in range(5000):  # plain os calls: pathlib would dominate the test's time
            os.close(os.open(f"{prefix}{i}.jpg", os.O_CREAT | os.O_WRONLY, 0o644))
            if i % 4 == 0:
                with open(f"{prefix}{i}.txt", "w", encoding="utf-8") as handle:
                    handle.write(f"caption {i}")
    return root


def test_twenty_thousand_files_scan_fast(big_folder: Path) -> None:
    started = time.perf_counter()
    found = scan_folder(big_folder, recursive=True)
    elapsed = time.perf_counter() - started
    assert len(found) == 20000
    assert found[1].name == "img1.jpg" and found[10].name == "img10.jpg"
    assert elapsed < 3.0, f"scan took {elapsed:.2f}s"


def test_twenty_thousand_files_open_as_library(big_folder: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    with Library.open(big_folder, data_dir=tmp_path, recursive=True) as library:
        first = time.perf_counter() - started
        assert library.last_sync.total == 20000 and len(library.last_sync.imported) == 5000
        started = time.perf_counter()
        assert library.sync().added == []
        again = time.perf_counter() - started
        assert len(library.pending()) == 15000
    assert first < 15.0 and again < 10.0, f"open {first:.2f}s, re-sync {again:.2f}s"
