"""Tests for desktop_app.engine.images: loading, RGB normalisation and prefetching."""

from __future__ import annotations

import gc
import os
import pickle
import random
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.engine import images
from desktop_app.engine.images import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ImageLoadError,
    fit_within,
    is_image_path,
    is_video_path,
    load_image,
    prefetch,
    to_rgb,
)

RED = (255, 0, 0)
WHITE = (255, 255, 255)


def close_to(pixel: tuple[int, ...], expected: tuple[int, ...], tol: int = 3) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=True))


def save(image: Image.Image, path: Path, **params: object) -> Path:
    image.save(path, **params)
    return path


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.putpixel((0, 0), 1)
    if transparent:
        image.info["transparency"] = 1
    return image


# --- extensions ------------------------------------------------------------------------


def test_extension_sets() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"} <= IMAGE_EXTENSIONS
    assert VIDEO_EXTENSIONS == {".mp4", ".mov", ".mkv", ".webm", ".avi"}
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    assert (".avif" in IMAGE_EXTENSIONS) == (images._AVIF_PLUGIN != "")
    assert (".heic" in IMAGE_EXTENSIONS) == images._HAVE_HEIF


@pytest.mark.parametrize("name", ["a.jpg", "B.JPEG", "c.Png", "dir.x/e.TIFF", "f.webp"])
def test_is_image_path(name: str) -> None:
    assert is_image_path(Path(name)) and is_image_path(name)
    assert not is_video_path(name)


@pytest.mark.parametrize("name", ["a.MP4", "b.mov", "c.MkV", "d.webm", "e.avi"])
def test_is_video_path(name: str) -> None:
    assert is_video_path(name) and not is_image_path(name)


@pytest.mark.parametrize("name", ["notes.txt", "png", ".png", "archive.png.zip", "noext"])
def test_neither(name: str) -> None:
    assert not is_image_path(name) and not is_video_path(name)


# --- modes -----------------------------------------------------------------------------

IN_MEMORY_MODES: list[tuple[str, Callable[[], Image.Image], tuple[int, int, int]]] = [
    ("RGB", lambda: Image.new("RGB", (4, 4), (10, 20, 30)), (10, 20, 30)),
    ("L", lambda: Image.new("L", (4, 4), 128), (128, 128, 128)),
    ("1", lambda: Image.new("1", (4, 4), 1), WHITE),
    ("P", lambda: palette_image(transparent=False), RED),
    ("P+transparency", lambda: palette_image(transparent=True), RED),
    ("PA transparent", lambda: Image.new("PA", (4, 4), (0, 0)), WHITE),
    ("LA opaque", lambda: Image.new("LA", (4, 4), (50, 255)), (50, 50, 50)),
    ("LA transparent", lambda: Image.new("LA", (4, 4), (0, 0)), WHITE),
    ("La transparent", lambda: Image.new("La", (4, 4), (0, 0)), WHITE),
    ("RGBA transparent", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 0)), WHITE),
    ("RGBA half", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 128)), (127, 127, 127)),
    ("RGBA opaque", lambda: Image.new("RGBA", (4, 4), (255, 0, 0, 255)), RED),
    ("RGBa", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 0)).convert("RGBa"), WHITE),
    ("CMYK white", lambda: Image.new("CMYK", (4, 4), (0, 0, 0, 0)), WHITE),
    ("CMYK red", lambda: Image.new("CMYK", (4, 4), (0, 255, 255, 0)), RED),
    ("YCbCr", lambda: Image.new("YCbCr", (4, 4), (255, 128, 128)), WHITE),
    ("HSV", lambda: Image.new("HSV", (4, 4), (0, 255, 255)), RED),
    ("LAB", lambda: Image.new("LAB", (4, 4), (255, 128, 128)), WHITE),
    ("I;16 max", lambda: Image.new("I;16", (4, 4), 65535), WHITE),
    ("I;16 mid", lambda: Image.new("I;16", (4, 4), 32768), (128, 128, 128)),
    ("I;16B max", lambda: Image.new("I;16B", (4, 4), 65535), WHITE),
    ("I;16B mid", lambda: Image.new("I;16B", (4, 4), 32768), (128, 128, 128)),
    ("I;16L mid", lambda: Image.new("I;16L", (4, 4), 32768), (128, 128, 128)),
    ("I 16-bit range", lambda: Image.new("I", (4, 4), 65535), WHITE),
    ("I 8-bit range", lambda: Image.new("I", (4, 4), 200), (200, 200, 200)),
    ("F 0..1", lambda: Image.new("F", (4, 4), 0.5), (128, 128, 128)),
    ("F 0..255", lambda: Image.new("F", (4, 4), 100.0), (100, 100, 100)),
]


@pytest.mark.parametrize(
    ("factory", "expected"),
    [case[1:] for case in IN_MEMORY_MODES],
    ids=[case[0] for case in IN_MEMORY_MODES],
)
def test_to_rgb_modes(factory: Callable[[], Image.Image], expected: tuple[int, int, int]) -> None:
    result = to_rgb(factory())
    assert result.mode == "RGB" and result.size == (4, 4)
    assert close_to(result.getpixel((3, 3)), expected), result.getpixel((3, 3))


def test_to_rgb_32bit_int_is_stretched_not_clipped() -> None:
    image = Image.new("I", (2, 1))
    image.putpixel((0, 0), -1_000_000)
    image.putpixel((1, 0), 3_000_000)
    result = to_rgb(image)
    assert result.getpixel((0, 0)) == (0, 0, 0)
    assert result.getpixel((1, 0)) == WHITE


def test_palette_transparency_keeps_opaque_colour() -> None:
    result = to_rgb(palette_image(transparent=True))
    assert result.getpixel((0, 0)) == WHITE  # palette index 1 is the transparent one
    assert result.getpixel((1, 1)) == RED


FILE_MODES: list[tuple[str, Callable[[], Image.Image], str, tuple[int, int, int]]] = [
    ("L.png", lambda: Image.new("L", (4, 4), 77), "L", (77, 77, 77)),
    ("1.png", lambda: Image.new("1", (4, 4), 0), "1", (0, 0, 0)),
    ("P.png", lambda: palette_image(transparent=False), "P", RED),
    ("Ptrns.png", lambda: palette_image(transparent=True), "P", RED),
    ("LA.png", lambda: Image.new("LA", (4, 4), (0, 0)), "LA", WHITE),
    ("RGBA.png", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "RGBA", WHITE),
    ("I16max.png", lambda: Image.new("I;16", (4, 4), 65535), "I;16", WHITE),
    ("I16mid.png", lambda: Image.new("I;16", (4, 4), 32768), "I;16", (128, 128, 128)),
    ("I.tif", lambda: Image.new("I", (4, 4), 65535), "I", WHITE),
    ("F.tif", lambda: Image.new("F", (4, 4), 1.0), "F", WHITE),
    ("CMYK.jpg", lambda: Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "CMYK", RED),
    ("CMYK.tif", lambda: Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "CMYK", RED),
    ("YCbCr.tif", lambda: Image.new("YCbCr", (4, 4), (255, 128, 128)), "YCbCr", WHITE),
    ("LAB.tif", lambda: Image.new("LAB", (4, 4), (255, 128, 128)), "LAB", WHITE),
    ("RGB.bmp", lambda: Image.new("RGB", (4, 4), RED), "RGB", RED),
    ("RGBA.webp", lambda: Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "RGBA", WHITE),
]


@pytest.mark.parametrize(
    ("name", "factory", "file_mode", "expected"), FILE_MODES, ids=[case[0] for case in FILE_MODES]
)
def test_load_image_modes_from_files(
    tmp_path: Path,
    name: str,
    factory: Callable[[], Image.Image],
    file_mode: str,
    expected: tuple[int, int, int],
) -> None:
    path = save(factory(), tmp_path / name, **({"lossless": True} if name.endswith(".webp") else {}))
    with Image.open(path) as raw:
        assert raw.mode == file_mode  # the file really holds the mode under test
    result = load_image(path)
    assert result.mode == "RGB" and result.size == factory().size
    assert close_to(result.getpixel((2, 2)), expected, tol=4), result.getpixel((2, 2))


@pytest.mark.skipif(".avif" not in IMAGE_EXTENSIONS, reason="no AVIF support in this Pillow")
def test_load_avif(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (16, 16), RED), tmp_path / "a.avif", quality=100)
    assert close_to(load_image(path).getpixel((8, 8)), RED, tol=12)


# --- orientation, animation, size --------------------------------------------------------


def test_exif_orientation_6_rotates(tmp_path: Path) -> None:
    stored = Image.new("RGB", (40, 20), RED)
    stored.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    path = save(stored, tmp_path / "rot.jpg", exif=exif, quality=95)
    result = load_image(path)
    assert result.size == (20, 40)
    assert close_to(result.getpixel((10, 5)), RED, tol=20)  # stored left is now the top
    assert close_to(result.getpixel((10, 35)), (0, 0, 255), tol=20)
    # Also when downscaling: orientation applied to the reduced image.
    small = load_image(path, max_pixels=200)
    assert small.height > small.width and small.width * small.height <= 200


def test_unreadable_exif_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(Image.new("RGB", (8, 4), RED), tmp_path / "badexif.jpg", exif=b"Exif\x00\x00garbage!")
    assert load_image(path).size == (8, 4)

    def broken_getexif(self: Image.Image) -> Image.Exif:
        raise SyntaxError("corrupt EXIF")

    monkeypatch.setattr(Image.Image, "getexif", broken_getexif)
    result = load_image(path)
    assert result.size == (8, 4) and close_to(result.getpixel((4, 2)), RED, tol=20)


@pytest.mark.parametrize(("suffix", "params"), [(".gif", {}), (".png", {}), (".webp", {"lossless": True})])
def test_animation_gives_first_frame(tmp_path: Path, suffix: str, params: dict[str, object]) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, (0, 255, 0), (0, 0, 255))]
    path = tmp_path / f"anim{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0, **params)
    with Image.open(path) as raw:
        assert getattr(raw, "n_frames", 1) == 3
    result = load_image(path)
    assert result.mode == "RGB" and close_to(result.getpixel((4, 4)), RED)


@pytest.mark.parametrize(("name", "size"), [("wide.png", (400, 200)), ("photo.jpg", (1600, 1200))])
def test_max_pixels_downscales_keeping_aspect(tmp_path: Path, name: str, size: tuple[int, int]) -> None:
    path = save(Image.new("RGB", size, RED), tmp_path / name)
    result = load_image(path, max_pixels=10_000)
    assert result.width * result.height <= 10_000
    assert result.width * result.height > 9_000
    assert abs(result.width / result.height - size[0] / size[1]) < 0.03
    assert close_to(result.getpixel((result.width // 2, result.height // 2)), RED, tol=6)
    assert load_image(path, max_pixels=size[0] * size[1]).size == size  # no-op when it fits


def test_max_pixels_must_be_positive(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "a.png")
    with pytest.raises(ValueError):
        load_image(path, max_pixels=0)


@pytest.mark.parametrize(
    ("size", "cap"), [((400, 200), 10_000), ((100_000, 1), 10), ((1, 7), 3), ((3, 3), 1), ((5, 5), 25)]
)
def test_fit_within(size: tuple[int, int], cap: int) -> None:
    width, height = fit_within(size, cap)
    assert width >= 1 and height >= 1 and width * height <= cap
    assert width <= size[0] and height <= size[1]


# --- failures --------------------------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header declares the given size (its pixel data is far too short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def expect_error(path: Path, *fragments: str) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    error = info.value
    assert error.path == path
    assert str(error) == f"{path}: {error.reason}"
    for fragment in fragments:
        assert fragment in error.reason, error.reason
    return error


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.jpg", "file not found")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    expect_error(path, "empty file (0 bytes)")


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "folder.png"
    path.mkdir()
    expect_error(path, "directory")


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("hello, I am not a picture\n")
    expect_error(path, "not an image (cannot identify image file)")


@pytest.mark.parametrize("name", ["cut.jpg", "cut.png"])
def test_truncated_image_fails_in_load_image(tmp_path: Path, name: str) -> None:
    full = save(noise((128, 128)), tmp_path / f"full-{name}")
    data = full.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    expect_error(path, "truncated or corrupt image data", "truncated")


def test_bomb_header_rejected_by_pillow_limit(tmp_path: Path) -> None:
    path = png_header_only(tmp_path / "bomb.png", 30_000, 30_000)
    expect_error(path, "image too large (decompression-bomb guard)")


def test_bomb_rejected_by_module_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1000)
    path = save(Image.new("RGB", (50, 40)), tmp_path / "big.png")
    expect_error(path, "image too large (decompression-bomb guard)", "50x40 pixels")
    small = save(Image.new("RGB", (10, 10)), tmp_path / "small.png")
    assert load_image(small).size == (10, 10)


@pytest.mark.parametrize("exc", [ValueError(""), SyntaxError("bad chunk"), struct.error("short"), EOFError()])
def test_any_pillow_exception_becomes_image_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "odd.png")

    def failing_load(self: Image.Image) -> None:
        raise exc

    monkeypatch.setattr(Image.Image, "load", failing_load)
    error = expect_error(path, "truncated or corrupt image data")
    assert error.reason.endswith(str(exc) or type(exc).__name__)
    assert error.__cause__ is exc


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_permission_denied(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (4, 4)), tmp_path / "secret.png")
    path.chmod(0)
    try:
        expect_error(path, "permission denied")
    finally:
        path.chmod(0o600)


def test_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ImageLoadError(Path("a/b.png"), "file not found")))
    assert error.path == Path("a/b.png") and error.reason == "file not found"
    assert str(error) == f"{Path('a/b.png')}: file not found"


# --- prefetch --------------------------------------------------------------------------


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("image-prefetch")]


def test_prefetch_keeps_input_order() -> None:
    rng = random.Random(1)
    delays = {Path(f"{i}.png"): rng.uniform(0, 0.004) for i in range(60)}

    def load(path: Path) -> str:
        time.sleep(delays[path])
        return path.stem

    results = list(prefetch(list(delays), load, workers=6, ahead=8))
    assert [path for path, _ in results] == list(delays)
    assert [value for _, value in results] == [path.stem for path in delays]
    assert prefetch_threads() == []


def test_prefetch_converts_errors() -> None:
    def load(path: Path) -> str:
        if path.stem == "bad":
            raise ImageLoadError(path, "not an image (cannot identify image file)")
        if path.stem == "bug":
            raise RuntimeError("boom")
        return "ok"

    paths = [Path("a.png"), Path("bad.png"), Path("bug.png"), Path("z.png")]
    results = dict(prefetch(paths, load, workers=2, ahead=2))
    assert results[Path("a.png")] == "ok" and results[Path("z.png")] == "ok"
    bad, bug = results[Path("bad.png")], results[Path("bug.png")]
    assert isinstance(bad, ImageLoadError) and bad.reason.startswith("not an image")
    assert isinstance(bug, ImageLoadError) and bug.path == Path("bug.png")
    assert "boom" in bug.reason and isinstance(bug.__cause__, RuntimeError)


def test_prefetch_with_load_image(tmp_path: Path) -> None:
    good = save(Image.new("RGB", (30, 20), RED), tmp_path / "good.png")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really")
    results = list(prefetch([good, bad, tmp_path / "gone.png"], load_image, workers=2))
    assert [path for path, _ in results] == [good, bad, tmp_path / "gone.png"]
    assert isinstance(results[0][1], Image.Image) and results[0][1].size == (30, 20)
    assert isinstance(results[1][1], ImageLoadError) and isinstance(results[2][1], ImageLoadError)
    assert results[2][1].reason == "file not found"


def test_prefetch_bounds_work_in_flight() -> None:
    lock = threading.Lock()
    running = peak = pulled = 0
    max_ahead_of_consumer = 0

    def source() -> Iterator[Path]:
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield Path(f"{i}.png")

    def load(path: Path) -> Path:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return path

    consumed = 0
    for _ in prefetch(source(), load, workers=8, ahead=3):
        consumed += 1
        max_ahead_of_consumer = max(max_ahead_of_consumer, pulled - consumed)
        time.sleep(0.001)
    assert consumed == 40
    assert peak <= 3
    assert max_ahead_of_consumer <= 3


def test_prefetch_is_lazy_until_iterated() -> None:
    calls: list[Path] = []
    iterator = prefetch([Path("a.png")], calls.append)
    assert calls == [] and prefetch_threads() == []
    assert next(iterator)[0] == Path("a.png")
    iterator.close()


def slow_load_counter() -> tuple[Callable[[Path], Path], list[Path]]:
    started: list[Path] = []

    def load(path: Path) -> Path:
        started.append(path)
        time.sleep(0.02)
        return path

    return load, started


@pytest.mark.parametrize("how", ["close", "del", "consumer-exception"])
def test_prefetch_early_stop_leaves_no_threads(how: str) -> None:
    before = {t.ident for t in threading.enumerate()}
    load, started = slow_load_counter()
    paths = (Path(f"{i}.png") for i in range(10_000))
    iterator = prefetch(paths, load, workers=4, ahead=16)
    assert next(iterator)[0] == Path("0.png")
    assert prefetch_threads()
    if how == "close":
        iterator.close()
    elif how == "del":
        del iterator
        gc.collect()
    else:

        def consume() -> None:
            for _ in prefetch((Path(f"{i}.png") for i in range(10_000)), load, workers=4):
                raise KeyError("consumer failed")

        iterator.close()
        with pytest.raises(KeyError):
            consume()
        gc.collect()
    assert prefetch_threads() == []
    assert {t.ident for t in threading.enumerate()} <= before
    assert len(started) <= 40  # pending loads were cancelled, not run


@pytest.mark.parametrize(("workers", "ahead"), [(0, 4), (4, 0)])
def test_prefetch_rejects_bad_arguments(workers: int, ahead: int) -> None:
    with pytest.raises(ValueError):
        prefetch([], lambda path: path, workers=workers, ahead=ahead)
