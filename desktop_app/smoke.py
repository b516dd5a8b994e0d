"""`caption-studio --smoke-test`: prove that an install (or a built bundle) works, offline.

In a few seconds and without a display, a GPU or a network it:

1. builds the tiny random-weight Qwen3-VL in a temporary folder,
2. captions a generated image with it through the real engine (`CaptionEngine`, on CPU),
3. writes the caption's sidecar atomically and reads it back,
4. creates the main window offscreen (with a temporary settings file), shows it, processes
   events briefly and closes it the normal way (the caption service's thread ends).

It prints one line per step and exits 0; any failure exits 1 with the step and the reason.
`--smoke-test-dir DIR` keeps the files (model, image, sidecar, settings) in DIR.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

SMOKE_PROMPT = "Describe this image."
MAX_NEW_TOKENS = 12
WINDOW_EVENTS_S = 0.3  # how long the window runs its event loop before it is closed


class SmokeFailure(RuntimeError):
    """A smoke-test step did not do what it must."""


def _say(text: str) -> None:
    """Print a line (a windowed bundle on Windows/macOS has no stdout: the log gets it)."""
    if sys.stdout is not None:
        print(text, flush=True)
    else:  # pragma: no cover - frozen windowed builds only
        logging.getLogger(__name__).warning(text)


def _step(name: str, func: Callable[[], str]) -> Any:
    started = time.perf_counter()
    try:
        detail = func()
    except SmokeFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reason
        raise SmokeFailure(f"{name}: {type(exc).__name__}: {exc}") from exc
    _say(f"smoke test: {name}: ok ({time.perf_counter() - started:.1f} s) {detail}".rstrip())


def make_test_image(path: Path) -> Path:
    """A small generated picture (gradient, shapes): no file ships with the app for this."""
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((96, 72)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 10, 52, 50), fill=(230, 120, 40))
    draw.rectangle((56, 30, 88, 64), fill=(40, 140, 220))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def run_smoke_test(work_dir: str | os.PathLike[str] | None = None) -> int:
    """Run the smoke test; returns the exit code (0: everything worked).

    Args:
        work_dir: Keep the files here; a temporary folder (removed at the end) when None.
    """
    # Before Qt or huggingface_hub are imported: no window on screen, no network.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    frozen = " (bundle)" if getattr(sys, "frozen", False) else ""
    _say(f"smoke test: Caption Studio{frozen}, Python {sys.version.split()[0]}, "
         f"Qt platform {os.environ['QT_QPA_PLATFORM']}")
    keep = work_dir is not None
    root = Path(work_dir) if keep else Path(tempfile.mkdtemp(prefix="caption-studio-smoke-"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        _run(root.resolve())
    except SmokeFailure as exc:
        _say(f"SMOKE TEST FAILED: {exc}")
        traceback.print_exc()
        return 1
    except KeyboardInterrupt:
        _say("SMOKE TEST FAILED: interrupted")
        return 130
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    _say(f"SMOKE TEST PASSED in {time.perf_counter() - started:.1f} s")
    return 0


def _run(root: Path) -> None:
    state: dict[str, Any] = {}

    def tiny_model() -> str:
        from transformers.utils import logging as hf_logging

        from .testing.tiny_model import build_tiny_model

        hf_logging.disable_progress_bar()

        state["model"] = model = build_tiny_model(root / "tiny-model")
        size = sum(f.stat().st_size for f in model.iterdir() if f.is_file())
        return f"{model} ({size / 1e6:.1f} MB)"

    def image() -> str:
        state["image"] = make_test_image(root / "images" / "smoke.png")
        return str(state["image"])

    def caption() -> str:
        from transformers.utils import logging as hf_logging

        from .engine import CaptionEngine, CaptionRequest, ImageCaptioned, LoadOptions

        hf_logging.disable_progress_bar()
        engine = CaptionEngine(str(state["model"]), LoadOptions(device="cpu", dtype="fp32", offline=True))
        request = CaptionRequest.for_paths([state["image"]], prompt=SMOKE_PROMPT).with_params(
            max_new_tokens=MAX_NEW_TOKENS)
        results = list(engine.caption(request))
        if len(results) != 1:
            raise SmokeFailure(f"caption: expected 1 result, got {len(results)}")
        result = results[0]
        if not isinstance(result, ImageCaptioned):
            raise SmokeFailure(f"caption: the image failed: {getattr(result, 'reason', result)}")
        state["caption"] = result.caption
        described = engine.loaded.describe() if engine.loaded else "?"
        runner = type(engine.runner).__name__ if engine.runner else "?"
        engine.unload()
        return f"{described}, {runner}, {result.tokens} tokens, caption {ascii(result.caption[:40])}"

    def sidecar() -> str:
        from .library.atomic import atomic_write_text, is_temp_file
        from .library.sidecars import sidecar_path

        path = sidecar_path(state["image"])
        atomic_write_text(path, state["caption"])
        if path.read_bytes() != state["caption"].encode("utf-8"):
            raise SmokeFailure(f"sidecar: {path} does not hold the caption that was written")
        leftovers = [p.name for p in path.parent.iterdir() if is_temp_file(p.name)]
        if leftovers:
            raise SmokeFailure(f"sidecar: temporary files left behind: {leftovers}")
        return str(path)

    def window() -> str:
        return _window_round_trip(root)

    def translations() -> str:
        from .ui.i18n import check_translations

        try:
            return check_translations(root / "i18n-cache")
        except RuntimeError as exc:
            raise SmokeFailure(f"translations: {exc}") from exc

    for name, func in (("tiny model", tiny_model), ("test image", image), ("caption", caption),
                       ("sidecar", sidecar), ("main window", window), ("translations", translations)):
        _step(name, func)


def _window_round_trip(root: Path) -> str:
    """Create the main window offscreen with throw-away settings, run it briefly, close it."""
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QEventLoop, QSettings

    from .app import create_application, create_window
    from .ui import style

    app = create_application([])
    settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(None, settings=settings, data_dir=root / "data", reopen_last=False)
    try:
        window.show()
        timer = QElapsedTimer()
        timer.start()
        while timer.elapsed() < WINDOW_EVENTS_S * 1000:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not window.isVisible():
            raise SmokeFailure("main window: the window is not visible after show()")
        title = window.windowTitle()
        if not window.close():
            raise SmokeFailure("main window: the window refused to close")
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        app.processEvents()
    finally:
        style.cleanup_assets()
    if not (root / "settings.ini").exists():
        raise SmokeFailure("main window: closing did not save its settings")
    return f"{title!r} created, shown and closed ({app.platformName()})"
