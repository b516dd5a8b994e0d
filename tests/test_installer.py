"""Packaging: the `--smoke-test` flag, the generated icons, the first-run advice, the bundle.

The bundle test builds with PyInstaller (minutes, GBs): it runs only with
CAPTION_STUDIO_SLOW_TESTS=1 (`pytest -m slow tests/test_installer.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "caption-studio" / ("caption-studio.exe" if os.name == "nt" else "caption-studio")


def _env() -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


# -- the smoke test -----------------------------------------------------------------------------
def test_smoke_test_flag_passes_and_writes_the_sidecar(tmp_path: Path) -> None:
    work = tmp_path / "smoke"
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "--smoke-test", "--smoke-test-dir", str(work)],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SMOKE TEST PASSED" in proc.stdout
    for step in ("tiny model", "caption", "sidecar", "main window"):
        assert f"smoke test: {step}: ok" in proc.stdout
    sidecar = work / "images" / "smoke.txt"
    assert sidecar.is_file()
    assert (work / "tiny-model" / "model.safetensors").is_file()
    assert (work / "settings.ini").is_file()  # the window closed the normal way (saved state)


def test_smoke_test_reports_a_failure_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app import smoke

    def broken(path: Path) -> Path:
        raise OSError("disk on fire")

    for name in ("QT_QPA_PLATFORM", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.setenv(name, os.environ.get(name, "offscreen" if name.startswith("QT") else "1"))
    monkeypatch.setattr(smoke, "make_test_image", broken)
    monkeypatch.setattr(smoke, "_window_round_trip", lambda root: "skipped")
    assert smoke.run_smoke_test(tmp_path / "w") == 1


# -- icons ----------------------------------------------------------------------------------------
def test_icons_are_generated(tmp_path: Path) -> None:
    import runpy

    from PIL import Image

    make_icons = runpy.run_path(str(ROOT / "resources" / "make_icons.py"))["make_icons"]
    files = make_icons(tmp_path)
    for size in (16, 32, 256, 1024):
        with Image.open(files[f"png{size}"]) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
            assert image.getpixel((size // 2, size // 2))[3] == 255  # opaque middle, not empty
    with Image.open(files["ico"]) as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(files["icns"]) as icns:
        assert icns.size == (1024, 1024)
    assert (tmp_path / "toolbar" / "folder.svg").is_file()
    # Nothing binary is committed: resources/ holds only the SVG source and the script.
    committed = {p.name for p in (ROOT / "resources").iterdir() if p.is_file()}
    assert not {n for n in committed if n.endswith((".png", ".ico", ".icns"))}


def test_committed_svg_renders(qapp: Any) -> None:
    from PySide6.QtSvg import QSvgRenderer

    assert QSvgRenderer(str(ROOT / "resources" / "app-icon.svg")).isValid()


# -- first run ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("gpu", "model", "online", "words", "opens"), [
    (True, True, True, [], False),
    (False, True, True, ["CPU", "2B"], False),
    (True, False, True, ["Download"], True),
    (True, False, False, ["No network"], True),
    (False, False, False, ["CPU", "No network"], True),
])
def test_first_run_advice(gpu: bool, model: bool, online: bool, words: list[str], opens: bool) -> None:
    from desktop_app.ui.first_run import StartupFacts, first_run_advice

    text, open_models = first_run_advice(StartupFacts(gpu, model, online))
    assert open_models is opens
    assert bool(text) is bool(words)
    for word in words:
        assert word in text


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
@pytest.mark.parametrize("online", [True, False])
def test_first_run_in_the_window(qtbot: Any, tmp_path: Path, online: bool) -> None:
    """No GPU, no model: a banner (non-modal) and the model manager on the 2B row."""
    from PySide6.QtCore import QSettings

    from desktop_app.app import create_window
    from desktop_app.ui.first_run import StartupFacts, start_first_run_checks
    from desktop_app.ui.model_manager import ModelManagerDialog

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(None, settings=settings, data_dir=tmp_path / "data", reopen_last=False)
    qtbot.addWidget(window)
    window.show()
    try:
        thread = start_first_run_checks(window, probe=lambda model: StartupFacts(False, False, online))
        thread.join(5)
        qtbot.waitUntil(lambda: bool(window.banner_text()), timeout=5000)
        assert "CPU" in window.banner_text()
        assert ("No network" in window.banner_text()) is not online
        dialogs = [d for d in window.findChildren(ModelManagerDialog) if d.isVisible()]
        assert len(dialogs) == 1
        dialog = dialogs[0]
        assert dialog.selected_source() == "Qwen/Qwen3-VL-2B-Instruct"
        assert dialog.download_button.isEnabled() is online
        dialog.reject()
    finally:
        window.close()


# -- the bundle (slow) ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CAPTION_STUDIO_SLOW_TESTS") != "1",
                    reason="builds the PyInstaller bundle (minutes): set CAPTION_STUDIO_SLOW_TESTS=1")
def test_bundle_builds_and_passes_its_smoke_test(tmp_path: Path) -> None:
    build = subprocess.run(["bash", str(ROOT / "scripts" / "build_installer.sh")], cwd=ROOT, env=_env(),
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    assert BUNDLE.is_file()
    assert (BUNDLE.parent / "_internal" / "resources" / "app-icon-256.png").is_file()
    assert (BUNDLE.parent / "_internal" / "i18n" / "caption_studio_ru.qm").is_file()
    work = tmp_path / "smoke"
    proc = subprocess.run([str(BUNDLE), "--smoke-test", "--smoke-test-dir", str(work)], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SMOKE TEST PASSED" in proc.stdout
    assert (work / "images" / "smoke.txt").is_file()
