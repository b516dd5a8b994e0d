"""Start-up of the desktop app: logging, QApplication, theme, services and the main window."""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

APP_NAME = "Caption Studio"
ORG_NAME = "Caption Studio"
ORG_DOMAIN = "captionstudio.app"


#: GIL switch interval of the app. The worker thread runs Python between torch calls; with
#: CPython's default 5 ms, each Qt call the GUI thread makes (PySide releases the GIL around
#: it) can wait 5 ms to get the GIL back, and a slot of six calls stalls the window 30 ms.
GIL_SWITCH_INTERVAL_S = 0.001

#: Modules the first model load imports (about 1,300 with torchvision and sympy). Some module
#: bodies hold the GIL for a quarter of a second; imported at start-up, they cannot stall
#: the window later, in the middle of the user's work.
ENGINE_IMPORTS = (
    "transformers.models.auto.modeling_auto", "transformers.models.auto.processing_auto",
    "transformers.generation.utils", "transformers.models.qwen3_vl.modeling_qwen3_vl",
    "transformers.models.qwen3_vl.processing_qwen3_vl",
    "transformers.models.qwen3_vl.video_processing_qwen3_vl",
)


def prewarm_engine_imports(background: bool = True) -> threading.Thread | None:
    """Import what a model load needs now (in a daemon thread unless `background` is False).

    Then the ~1M objects of torch, transformers and friends are frozen out of the garbage
    collector (`gc.freeze`): they live as long as the process, and a full collection that
    walks them holds the GIL for a quarter of a second, a stall of the window.
    """

    def work() -> None:
        started = time.perf_counter()
        for name in ENGINE_IMPORTS:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - the load itself reports real problems
                log.debug("prewarm: cannot import %s: %s", name, exc)
        gc.collect()
        gc.freeze()
        log.debug("engine imports ready in %.1f s", time.perf_counter() - started)

    if not background:
        work()
        return None
    thread = threading.Thread(target=work, name="prewarm-imports", daemon=True)
    thread.start()
    return thread


def build_parser() -> argparse.ArgumentParser:
    """The window's command line (the headless CLI lives in `desktop_app.cli`)."""
    parser = argparse.ArgumentParser(prog="caption-studio", description="Caption Studio desktop app")
    parser.add_argument("folder", nargs="?", type=Path, help="a folder (or an image in it) to open")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where caption databases and thumbnails live (default: user data folder)")
    parser.add_argument("--log-level", default=os.environ.get("CAPTION_STUDIO_LOG", "INFO"),
                        help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--language", default=None, choices=["system", "en", "ru", "zh_CN"],
                        help="UI language for this run (default: the one chosen in Settings)")
    # --smoke-test: the packaging work (desktop_app/smoke.py; a built bundle must pass it).
    parser.add_argument("--smoke-test", action="store_true",
                        help="check the install offscreen and offline (tiny model, one caption, "
                             "the main window) and exit: 0 when everything works")
    parser.add_argument("--smoke-test-dir", type=Path, default=None,
                        help="keep the smoke test's files in this folder (default: a temporary one)")
    return parser


def configure_logging(level: str = "INFO") -> Path | None:
    """Log to stderr and to a rotating file in the user log folder; returns the file."""
    root = logging.getLogger()
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        root.addHandler(stream)
    try:
        import platformdirs

        folder = Path(platformdirs.user_log_dir("caption-studio", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / "caption-studio.log"
        handler = logging.handlers.RotatingFileHandler(file, maxBytes=2_000_000, backupCount=3,
                                                       encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
        return file
    except (ImportError, OSError) as exc:
        log.warning("no log file: %s", exc)
        return None


def create_application(argv: Sequence[str] | None = None, language: str | None = None):  # noqa: ANN201
    """The QApplication (made once), named so QSettings finds its file, with the theme and the
    UI language (`language`: a code of `ui.i18n.LANGUAGES`; None: the one chosen in Settings)."""
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from .ui import style

    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setOrganizationDomain(ORG_DOMAIN)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "caption-studio",
                                                   *(argv or [])])
    app.setApplicationDisplayName(APP_NAME)
    style.apply_theme(app)
    from .ui import i18n

    if language is None:
        language = i18n.stored_choice(QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                                ORG_NAME, APP_NAME))
    i18n.install_translators(app, language)
    return app


def create_window(folder: Path | None = None, *, settings=None, data_dir: Path | None = None,  # noqa: ANN001
                  reopen_last: bool = True):  # noqa: ANN201 - MainWindow
    """The main window, with its caption service; opens `folder` (or the last one) when given."""
    from PySide6.QtCore import QSettings

    from .ui.main_window import MainWindow

    if settings is None:
        settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG_NAME, APP_NAME)
    window = MainWindow(settings, data_dir=data_dir)
    if folder is not None:
        target = folder.expanduser()
        if target.is_file():
            window.handle_drop([target])
        else:
            window.open_folder(target)
    elif reopen_last:
        last = window.last_folder()
        if last and Path(last).is_dir():
            window.open_folder(last)
    return window


def _close_on_interrupt(window) -> None:  # noqa: ANN001 - MainWindow
    """Ctrl+C in the terminal closes the window the normal way (saves, stops the run).

    Python handles signals only while Python code runs, so a slow no-op timer gives it the
    chance while Qt's loop idles.
    """
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer(window)
    timer.setInterval(250)
    timer.timeout.connect(lambda: None)
    timer.start()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.smoke_test:  # before any QApplication: the smoke test makes its own, offscreen
        from .smoke import run_smoke_test

        return run_smoke_test(args.smoke_test_dir)
    log_file = configure_logging(args.log_level)
    app = create_application(language=None if args.language is None else
                             "" if args.language == "system" else args.language)
    from .ui import style

    log.info("Caption Studio starting (log: %s)", log_file)
    window = create_window(args.folder, data_dir=args.data_dir)
    window.show()
    from .ui.first_run import start_first_run_checks

    start_first_run_checks(window)
    from .ui.thumb_pruner import schedule_pruning

    schedule_pruning(window)  # once per start, off the GUI thread
    prewarm_engine_imports()
    _close_on_interrupt(window)
    try:
        return int(app.exec())
    finally:
        style.cleanup_assets()
