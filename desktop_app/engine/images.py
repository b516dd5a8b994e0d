"""Open image files as fully decoded RGB images, and prefetch them on a small thread pool."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import stat
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, TypeVar

from PIL import ExifTags, Image, UnidentifiedImageError, features

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Images declaring more pixels than this fail with ImageLoadError before any decoding
#: (``None`` disables the check). Read at call time, so tests and settings may change it.
#: Pillow's own hard limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``) still applies on top.
MAX_IMAGE_PIXELS: int | None = 178_956_970

# The guard above replaces Pillow's warning for images between its two thresholds;
# warnings.catch_warnings() is not thread-safe, so the filter is installed once here.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_BASE_IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
_HEIF_SUFFIXES = frozenset({".heic", ".heif"})
_AVIF_SUFFIXES = frozenset({".avif"})

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi"})

ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WHITE = (255, 255, 255)


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _native_avif() -> bool:
    try:
        return bool(features.check_module("avif"))
    except ValueError:  # Pillow < 11 does not know the module name
        return False


_HAVE_HEIF = _module_available("pillow_heif")
_AVIF_PLUGIN = None if _native_avif() else ("pillow_avif" if _module_available("pillow_avif") else "")

IMAGE_EXTENSIONS: frozenset[str] = (
    _BASE_IMAGE_EXTENSIONS
    | (_HEIF_SUFFIXES if _HAVE_HEIF else frozenset())
    | (_AVIF_SUFFIXES if _AVIF_PLUGIN != "" else frozenset())
)

_plugin_lock = threading.Lock()
_registered_plugins: set[str] = set()


class ImageLoadError(Exception):
    """An image file that cannot be opened or decoded.

    Attributes:
        path: The file that failed.
        reason: A short explanation a person understands, e.g. "file not found".
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[ImageLoadError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` has an image suffix this build can read (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` has a video suffix (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def _register_plugin_for(suffix: str) -> None:
    """Import the optional Pillow plugin a suffix needs, once per process."""
    if suffix in _HEIF_SUFFIXES and _HAVE_HEIF:
        name = "pillow_heif"
    elif suffix in _AVIF_SUFFIXES and _AVIF_PLUGIN:
        name = _AVIF_PLUGIN
    else:
        return
    with _plugin_lock:
        if name in _registered_plugins:
            return
        _registered_plugins.add(name)
        try:
            module = importlib.import_module(name)
            if name == "pillow_heif":
                module.register_heif_opener()
        except Exception:  # a broken optional plugin must not break other formats
            logger.warning("Could not register the %s image plugin", name, exc_info=True)


def load_image(path: str | os.PathLike[str], max_pixels: int | None = None) -> Image.Image:
    """Open, fully decode and normalise one image file.

    The result is an RGB image with EXIF orientation applied, the first frame of an
    animation, transparency flattened onto white and high bit depths scaled to 8 bits.
    Decoding happens here, so a truncated or corrupt file fails in this call (this relies
    on ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` staying False).

    Args:
        path: The image file.
        max_pixels: If given and width * height exceeds it, the image is downscaled,
            keeping its aspect ratio, to at most this many pixels.

    Returns:
        A loaded RGB image.

    Raises:
        ImageLoadError: For any file that cannot be read or decoded, with the reason.
        ValueError: If ``max_pixels`` is not positive.
    """
    path = Path(path)
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    _check_file(path)
    _register_plugin_for(path.suffix.lower())
    try:
        with open(path, "rb") as fp:
            return _decode(fp, path, max_pixels)
    except ImageLoadError:
        raise
    except Exception as exc:  # Pillow raises many types for bad data; all become ImageLoadError
        reason = _reason(exc, path)
        logger.debug("Cannot load %s: %s", path, reason, exc_info=True)
        raise ImageLoadError(path, reason) from exc


def _check_file(path: Path) -> None:
    """Fail early, with a plain reason, for paths that are not readable non-empty files."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ImageLoadError(path, "file not found") from exc
    except PermissionError as exc:
        raise ImageLoadError(path, "permission denied") from exc
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(path, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageLoadError(path, "not a regular file")
    if info.st_size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")


def _reason(exc: BaseException, path: Path) -> str:
    """Turn an exception from opening or decoding into a short reason."""
    if isinstance(exc, UnidentifiedImageError):
        suffix = path.suffix.lower()
        if suffix in (_HEIF_SUFFIXES | _AVIF_SUFFIXES) and suffix not in IMAGE_EXTENSIONS:
            plugin = "pillow-heif" if suffix in _HEIF_SUFFIXES else "pillow-avif-plugin"
            return f"unsupported format ({suffix} needs the {plugin} package)"
        return "not an image (cannot identify image file)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large (decompression-bomb guard): {exc}"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    if isinstance(exc, OSError) and exc.errno is not None:  # the OS, not Pillow, failed
        return f"read error: {exc.strerror or exc}"
    return f"truncated or corrupt image data: {str(exc) or type(exc).__name__}"


def _decode(fp: BinaryIO, path: Path, max_pixels: int | None) -> Image.Image:
    with Image.open(fp) as image:
        width, height = image.size
        limit = MAX_IMAGE_PIXELS
        if limit is not None and width * height > limit:
            raise ImageLoadError(
                path,
                f"image too large (decompression-bomb guard): {width}x{height} pixels "
                f"(limit {limit:,})",
            )
        if max_pixels is not None and width * height > max_pixels:
            # JPEG only: decode at 1/2, 1/4 or 1/8 size, still at least the target size.
            image.draft(None, fit_within(image.size, max_pixels))
        image.load()
        orientation = _orientation(image)
        rgb = to_rgb(image)
    if max_pixels is not None and rgb.width * rgb.height > max_pixels:
        size = fit_within(rgb.size, max_pixels)
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    method = ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        rgb = rgb.transpose(method)
    return rgb


def _orientation(image: Image.Image) -> int:
    """The EXIF (or XMP) orientation, 1 when absent or unreadable."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
        return int(value)
    except Exception:  # broken metadata must not lose otherwise good pixels
        logger.debug("Ignoring unreadable EXIF orientation", exc_info=True)
        return 1


def fit_within(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """Return ``size`` scaled down, keeping its aspect ratio, to at most ``max_pixels``.

    Args:
        size: (width, height).
        max_pixels: The largest allowed width * height, at least 1.

    Returns:
        The new (width, height), each at least 1; ``size`` itself if it already fits.
    """
    width, height = size
    if width * height <= max_pixels:
        return size
    scale = math.sqrt(max_pixels / (width * height))
    new_w = max(1, int(width * scale))
    new_h = max(1, int(height * scale))
    # Very thin images: the max(1, ...) above can push the product over the cap.
    new_w = max(1, min(new_w, max_pixels // new_h))
    new_h = max(1, min(new_h, max_pixels // new_w))
    return new_w, new_h


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert an image of any Pillow mode to 8-bit RGB.

    Transparent pixels are composited onto white; 16- and 32-bit integer and float
    greyscale are scaled into 0-255 rather than clipped.

    Args:
        image: A loaded image.

    Returns:
        ``image`` itself when it is already RGB, otherwise a new RGB image.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in HIGH_DEPTH_MODES:
        return _scale_to_8bit(image).convert("RGB")
    if mode == "La":  # Pillow cannot go from La straight to RGBA
        image = image.convert("LA")
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """Map a 16/32-bit integer or float greyscale image to mode L, scaling instead of clipping."""
    if image.mode.startswith("I;16"):
        scale, offset = 255.0 / 65535.0, 0.0
        image = image.convert("I")
    else:
        if image.mode != "F":
            image = image.convert("I")
        low, high = image.getextrema()
        scale, offset = _guess_range(float(low), float(high), image.mode == "F")  # type: ignore[arg-type]
    # point() on I/F images takes a linear map only; the +0.5 makes the truncation round.
    return image.point(lambda v: v * scale + offset + 0.5).convert("L")


def _guess_range(low: float, high: float, is_float: bool) -> tuple[float, float]:
    """Scale and offset into 0-255 for mode I or F, whose range the mode does not fix.

    Floats within 0-1 are normalised values, integers within 0-255 are 8-bit, within
    0-65535 16-bit (a 16-bit file read as I); anything else is stretched min to max.
    """
    if low >= 0 and is_float and high <= 1.0:
        return 255.0, 0.0
    if low >= 0 and high <= 255:
        return 1.0, 0.0
    if low >= 0 and high <= 65535:
        return 255.0 / 65535.0, 0.0
    if high > low:
        return 255.0 / (high - low), -low * 255.0 / (high - low)
    return 0.0, 0.0  # a constant image far outside any usual range


def prefetch(
    paths: Iterable[Path],
    load: Callable[[Path], T],
    workers: int = 4,
    ahead: int = 16,
) -> Iterator[tuple[Path, T | ImageLoadError]]:
    """Load items on a thread pool and yield them in input order.

    At most ``ahead`` loads are submitted and not yet yielded at any time, and ``paths``
    is consumed lazily, so memory stays bounded for any number of files. Closing the
    iterator early (``close()``, garbage collection, an exception in the consumer)
    cancels what has not started and waits for the running loads, leaving no thread.

    Args:
        paths: The files, in the order results should come out (may be lazy).
        load: Called in a worker thread with each path, e.g. ``load_image``.
        workers: Number of worker threads.
        ahead: Maximum number of loads in flight or waiting to be yielded.

    Yields:
        ``(path, result)``, where result is what ``load`` returned or, if it raised, an
        ImageLoadError (any other exception is wrapped into one).

    Raises:
        ValueError: If ``workers`` or ``ahead`` is less than 1.
    """
    if workers < 1 or ahead < 1:
        raise ValueError(f"workers and ahead must be >= 1, got {workers} and {ahead}")
    return _prefetch(iter(paths), load, workers, ahead)


def _prefetch(
    paths: Iterator[Path], load: Callable[[Path], T], workers: int, ahead: int
) -> Iterator[tuple[Path, T | ImageLoadError]]:
    executor = ThreadPoolExecutor(max_workers=min(workers, ahead), thread_name_prefix="image-prefetch")
    pending: deque[tuple[Path, Future[T]]] = deque()
    try:
        for path in paths:
            pending.append((path, executor.submit(load, path)))
            if len(pending) >= ahead:
                yield _outcome(*pending.popleft())
        while pending:
            yield _outcome(*pending.popleft())
    finally:
        for _, future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _outcome(path: Path, future: Future[T]) -> tuple[Path, T | ImageLoadError]:
    try:
        return path, future.result()
    except ImageLoadError as exc:
        return path, exc
    except Exception as exc:  # a bug or unexpected failure in `load` fails this item only
        logger.warning("Unexpected error loading %s", path, exc_info=exc)
        error = ImageLoadError(path, str(exc) or type(exc).__name__)
        error.__cause__ = exc
        return path, error
