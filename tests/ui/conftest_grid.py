"""Fixtures of the grid tests: images made in tmp_path, a loader that never outlives its test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image


def make_image(path: Path, size: tuple[int, int] = (64, 48), color: tuple[int, ...] = (200, 30, 30),
               mode: str = "RGB", fmt: str | None = None, orientation: int | None = None) -> Path:
    """Write a small image (any Pillow mode; optional EXIF orientation for JPEGs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode in ("I;16", "I"):
        im = Image.linear_gradient("L").resize(size).convert("I")
        im = im.point(lambda v: v * 256)
        if mode == "I;16":
            im = im.convert("I;16")
    else:
        im = Image.new(mode, size, color if mode not in ("P", "L", "1") else 1)
    kwargs: dict[str, object] = {}
    if mode == "P":
        kwargs["transparency"] = 0
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    im.save(path, format=fmt, **kwargs)
    return path


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    """Six small JPEGs of different sizes in tmp_path/media."""
    return [make_image(tmp_path / "media" / f"img{i}.jpg", (40 + 10 * i, 30 + 5 * i),
                       (40 * i, 100, 200 - 30 * i)) for i in range(6)]


@pytest.fixture
def loader_factory(tmp_path: Path, qtbot: object) -> Iterator[Callable[..., object]]:
    """Make ThumbnailLoaders caching under tmp_path/thumbs; all are shut down after the test."""
    from desktop_app.ui.thumbnails import ThumbnailLoader

    made: list[ThumbnailLoader] = []

    def factory(**kwargs: object) -> ThumbnailLoader:
        kwargs.setdefault("cache_dir", tmp_path / "thumbs")
        loader = ThumbnailLoader(**kwargs)  # type: ignore[arg-type]
        made.append(loader)
        return loader

    yield factory
    for loader in made:
        loader.shutdown()
        assert loader._pool.activeThreadCount() == 0, "a thumbnail worker outlived its test"


@pytest.fixture
def loader(loader_factory: Callable[..., object]) -> object:
    """One ThumbnailLoader with a private disk cache."""
    return loader_factory()
