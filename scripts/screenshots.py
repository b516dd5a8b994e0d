"""Screenshots of the real app, offscreen, on a generated folder with the tiny random Qwen3-VL.

    PYTHONPATH=. python scripts/screenshots.py OUT_DIR [--model FOLDER] [--language ru]

Saves 01-empty, 02-grid, 03-streaming, 04-edited, 05-models, 06-export and
07-settings-video (the settings dock at its Video section) PNGs. The
captions of the tiny model are random text (it has random weights); the layout is real.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EDITED_CAPTION = ("A quiet mountain lake at sunset: layered violet ridges fade into a peach sky, "
                  "the low sun sits on the horizon and its reflection breaks into bands of light "
                  "on the still water. Soft, warm light; wide landscape composition.")


def tiny_model_dir() -> Path:
    """The tiny checkpoint, built once per version of its code (as the tests do)."""
    from desktop_app.testing import tiny_model

    key = hashlib.sha1(Path(tiny_model.__file__).read_bytes()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / "caption-studio-tests" / f"tiny-qwen3-vl-{key}"
    if not (path / "model.safetensors").exists():
        tiny_model.build_tiny_model(path)
    return path


# -- a folder of pictures that look like pictures -------------------------------------------
def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Any:
    from PIL import Image

    w, h = size
    column = Image.new("RGB", (1, h))
    for y in range(h):
        t = y / max(1, h - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize(size)


def _landscape(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import ImageDraw

    palettes = [((255, 183, 130), (120, 80, 160)), ((120, 190, 255), (230, 240, 255)),
                ((40, 40, 90), (230, 120, 90)), ((255, 220, 160), (250, 140, 110))]
    top, bottom = rng.choice(palettes)
    im = _gradient(size, top, bottom)
    d = ImageDraw.Draw(im)
    w, h = size
    sun = (rng.randint(w // 5, 4 * w // 5), rng.randint(h // 5, h // 2))
    r = rng.randint(h // 14, h // 8)
    d.ellipse((sun[0] - r, sun[1] - r, sun[0] + r, sun[1] + r), fill=(255, 236, 180))
    for layer in range(3):
        base = h * (0.55 + 0.13 * layer)
        shade = tuple(max(0, c - 40 - 45 * layer) for c in bottom)
        points = [(0, h)]
        for x in range(0, w + 40, 40):
            points.append((x, base - rng.randint(0, int(h * 0.18))))
        points.append((w, h))
        d.polygon(points, fill=shade)
    return im


def _city(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import ImageDraw

    im = _gradient(size, (20, 24, 60), (90, 60, 120))
    d = ImageDraw.Draw(im)
    w, h = size
    for _ in range(60):
        x, y = rng.randrange(w), rng.randrange(h // 2)
        d.point((x, y), fill=(255, 255, 230))
    x = 0
    while x < w:
        bw, bh = rng.randint(30, 80), rng.randint(h // 4, int(h * 0.75))
        d.rectangle((x, h - bh, x + bw, h), fill=(18 + rng.randint(0, 20),) * 3)
        for wy in range(h - bh + 8, h - 8, 14):
            for wx in range(x + 6, x + bw - 6, 12):
                if rng.random() < 0.45:
                    d.rectangle((wx, wy, wx + 5, wy + 7), fill=(255, 210, 120))
        x += bw + rng.randint(2, 10)
    return im


def _still_life(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import ImageDraw

    w, h = size
    im = _gradient(size, (235, 225, 210), (200, 185, 165))
    d = ImageDraw.Draw(im)
    d.rectangle((0, int(h * 0.65), w, h), fill=(120, 80, 55))
    colours = [(220, 50, 40), (250, 170, 30), (120, 180, 60), (240, 220, 60), (150, 40, 90)]
    for i in range(rng.randint(3, 6)):
        r = rng.randint(h // 12, h // 6)
        cx = rng.randint(r, w - r)
        cy = int(h * 0.65) - r // 2 + rng.randint(-10, 10)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rng.choice(colours))
        d.ellipse((cx - r // 3, cy - r + 6, cx - r // 6, cy - r // 2), fill=(255, 255, 255))
    return im


def _forest(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import ImageDraw

    w, h = size
    im = _gradient(size, (190, 220, 235), (225, 235, 215))
    d = ImageDraw.Draw(im)
    d.rectangle((0, int(h * 0.8), w, h), fill=(90, 130, 70))
    for _ in range(26):
        x = rng.randint(0, w)
        th = rng.randint(h // 4, int(h * 0.7))
        base = int(h * 0.8) + rng.randint(-10, 20)
        g = rng.randint(60, 120)
        d.polygon([(x, base - th), (x - th // 4, base), (x + th // 4, base)], fill=(20, g, 50))
    return im


def _abstract(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import ImageDraw

    w, h = size
    im = _gradient(size, (rng.randint(0, 80), rng.randint(60, 140), rng.randint(120, 200)),
                   (rng.randint(150, 255), rng.randint(60, 120), rng.randint(80, 160)))
    d = ImageDraw.Draw(im)
    for _ in range(8):
        r = rng.randint(20, min(w, h) // 3)
        x, y = rng.randint(0, w), rng.randint(0, h)
        colour = tuple(rng.randint(120, 255) for _ in range(3))
        d.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=rng.randint(3, 9))
    for k in range(0, w, 24):
        y = h / 2 + math.sin(k / 40) * h / 6
        d.line((k, y, k + 24, h / 2 + math.sin((k + 24) / 40) * h / 6), fill=(255, 255, 255), width=3)
    return im


def make_folder(folder: Path, count: int = 24) -> list[Path]:
    """`count` varied pictures (landscapes, cities, still lifes, forests, abstracts; mixed sizes)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    makers: list[Callable[[random.Random, tuple[int, int]], Any]] = [
        _landscape, _city, _still_life, _forest, _abstract]
    names = ["lake-sunset", "city-night", "fruit-bowl", "pine-forest", "abstract"]
    sizes = [(800, 520), (640, 640), (560, 760), (900, 500)]
    paths = []
    for i in range(count):
        kind = i % len(makers)
        image = makers[kind](rng, sizes[(i // len(makers) + i) % len(sizes)])
        path = folder / f"{names[kind]}-{i + 1:02d}.{'png' if i % 6 == 5 else 'jpg'}"
        image.save(path, quality=90) if path.suffix == ".jpg" else image.save(path)
        paths.append(path)
    return paths


# -- driving the app -------------------------------------------------------------------------
def wait_until(app: Any, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Process events until `condition()` holds (RuntimeError after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for the app")
        app.processEvents()
        time.sleep(0.005)


def settle(app: Any, seconds: float = 0.3) -> None:
    """Let timers, layouts and thumbnail results run for a moment."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def drop(window: Any, paths: list[Path]) -> None:
    """Drag `paths` onto the window the way a file manager does."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = window.rect().center()
    with warnings.catch_warnings():  # PySide6 6.12 marks the only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)


def with_dialog(window: Any, dialog: Any) -> Any:
    """The window, dimmed, with `dialog` drawn centred on it (how a person sees it)."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QColor, QPainter

    shot = window.grab()
    popup = dialog.grab()
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(0, 0, 0, 120))
    origin = QPoint((shot.width() - popup.width()) // 2, (shot.height() - popup.height()) // 2)
    for spread in range(12, 0, -3):  # a soft shadow
        painter.fillRect(QRect(origin, popup.size()).adjusted(-spread, -spread + 4, spread, spread + 4),
                         QColor(0, 0, 0, 18))
    painter.drawPixmap(origin, popup)
    painter.end()
    return shot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: the tiny model)")
    parser.add_argument("--language", default="en", help="UI language: en, ru or zh_CN (default: en)")
    args = parser.parse_args(argv)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    model = args.model or tiny_model_dir()

    from PySide6.QtCore import QSettings

    from desktop_app.app import create_application, create_window
    from desktop_app.ui.settings_panel import RunSettings

    app = create_application(language=args.language)
    work = Path(tempfile.mkdtemp(prefix="caption-studio-shots-"))
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("run/settings", RunSettings(
        model=str(model), device="cpu", dtype="fp32", max_new_tokens=120, batch_size=8).to_json())
    window = create_window(None, settings=settings, data_dir=work / "data")
    window.resize(1400, 900)
    window.show()
    settle(app, 0.5)
    window.grab().save(str(out / "01-empty.png"))

    folder = work / "Holiday photos"
    make_folder(folder)
    drop(window, [folder])
    wait_until(app, lambda: window.library is not None)
    paths = window.model.paths()
    for path in paths:
        window.loader.request(path)
    wait_until(app, lambda: all(window.loader.pixmap(p) is not None for p in paths), 30)
    settle(app, 0.4)
    window.grab().save(str(out / "02-grid.png"))

    # Mid-run: grab from inside a tokens_streamed slot once a full batch is streaming.
    flushes = {"n": 0, "shot": False}

    def on_tokens(batch: Any) -> None:
        flushes["n"] += 1
        if flushes["shot"] or flushes["n"] < 6 or window.live_panel.in_flight() < 6:
            return
        flushes["shot"] = True
        window.model.flush_live_text()
        window.grab().save(str(out / "03-streaming.png"))

    window.grid.setCurrentIndex(window.proxy.index(2, 0))
    window.service.tokens_streamed.connect(on_tokens)
    window.caption_all()
    wait_until(app, lambda: bool(window.runs), 30)
    wait_until(app, lambda: not window.runs, 180)
    window.service.tokens_streamed.disconnect(on_tokens)
    window.writer.wait()
    settle(app, 0.3)
    if not flushes["shot"]:
        print("warning: the run ended before a full batch streamed; 03 shows the end", file=sys.stderr)
        window.grab().save(str(out / "03-streaming.png"))

    window.grid.setCurrentIndex(window.proxy.index(0, 0))
    settle(app, 0.3)
    editor = window.caption_panel.editor
    editor.setFocus()
    editor.selectAll()
    editor.insertPlainText(EDITED_CAPTION)
    settle(app, 0.8)  # the autosave fires after 500 ms
    window.writer.wait()
    settle(app, 0.8)  # the filter pills recount 700 ms after a change
    window.grab().save(str(out / "04-edited.png"))

    dialog = window.show_models()
    if dialog is not None:
        settle(app, 0.4)
        with_dialog(window, dialog).save(str(out / "05-models.png"))
        dialog.close()
    else:
        print("warning: no model manager in this build", file=sys.stderr)
    window.grid.selectAll()
    settle(app, 0.2)
    dialog = window.show_export()
    if dialog is not None:
        settle(app, 0.4)
        with_dialog(window, dialog).save(str(out / "06-export.png"))
        dialog.close()
    else:
        print("warning: no export dialog in this build", file=sys.stderr)
    panel = window.settings_panel
    panel.ensureWidgetVisible(panel.video_settings, 0, 160)  # the Video section, mid-dock
    settle(app, 0.3)
    window.settings_dock.grab().save(str(out / "07-settings-video.png"))
    window.close()
    for name in sorted(p.name for p in out.glob("*.png")):
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
