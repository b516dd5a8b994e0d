"""UI languages: which one to show, its compiled translation (built on demand) and Qt's own.

The sources are `resources/i18n/caption_studio_<lang>.ts` (edited by people, in git). Qt loads
compiled `.qm` files, which are never committed: `scripts/setup.sh` and
`scripts/update_translations.sh` compile them beside the `.ts`, the installer build bundles
them (build_installer.spec), and at start-up a missing or stale one is compiled into the user
cache with the `lrelease` that ships inside the PySide6 wheel. Without any of these the app
starts in English and says why in the log; it never fails to start over a translation.

Marking strings: `self.tr("...")` in QObject classes and in MainWindow's mixins (PySide6 tries
each class of the MRO as the context, and pyside6-lupdate files the string under the mixin);
`QCoreApplication.translate("Context", "...")` elsewhere; `QT_TRANSLATE_NOOP` in module-level
tables, translated where shown. Values go in as %1, %2 and `.replace("%1", value)`. Plurals:
`plural(self.tr("%n file(s)", "", n), n)` in a QObject class; not in a mixin, where PySide6
stops at the first class of the MRO once %n is replaced (and lupdate does not see the count of
`QCoreApplication.translate`): there write `plural(self.tr("%1 file(s)"), n).replace("%1", ...)`
and translate it as "файлов: %1". Run scripts/update_translations.sh after changing strings.

This module imports no Qt at module level, so the installer spec can run it to compile.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The choices in Settings: code -> the language's own name ("" follows the system).
LANGUAGES: dict[str, str] = {"": "System", "en": "English", "ru": "Русский", "zh_CN": "中文"}
#: Languages with a translation file (English is the source language).
TRANSLATED: tuple[str, ...] = ("ru", "zh_CN")
SETTINGS_KEY = "ui/language"
CATALOGUE = "caption_studio"
#: Installed translators must outlive this call: Qt does not own them.
_installed: list[Any] = []


def ts_dir() -> Path:
    """Where the `.ts` sources live (the source tree's resources/i18n)."""
    return Path(__file__).resolve().parents[2] / "resources" / "i18n"


def bundled_dir() -> Path | None:
    """The compiled `.qm` files inside a frozen (PyInstaller) bundle, else None."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / "i18n" if getattr(sys, "frozen", False) and base else None


def cache_dir() -> Path:
    """Where `.qm` files compiled at start-up go (the source tree may be read-only)."""
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("caption-studio", appauthor=False)) / "i18n"
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path(tempfile.gettempdir()) / "caption-studio-i18n"


def find_lrelease() -> Path | None:
    """The `lrelease` of the PySide6 package (or one on PATH); None when there is none."""
    spec = importlib.util.find_spec("PySide6")
    names = ("lrelease.exe", "lrelease") if os.name == "nt" else ("lrelease",)
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        for folder in (root, root / "Qt" / "libexec", root / "Qt" / "bin"):
            for name in names:
                if (folder / name).is_file() and os.access(folder / name, os.X_OK):
                    return folder / name
    found = shutil.which("pyside6-lrelease") or shutil.which("lrelease")
    return Path(found) if found else None


def compile_ts(ts: Path, qm: Path, lrelease: Path | None = None) -> bool:
    """Compile `ts` into `qm` (atomically); False, with a log line, when that cannot be done."""
    tool = lrelease or find_lrelease()
    if tool is None:
        log.warning("no lrelease found (PySide6 package or PATH): %s is not compiled", ts.name)
        return False
    try:
        qm.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".qm", dir=qm.parent)
        os.close(fd)
        done = subprocess.run([str(tool), "-silent", str(ts), "-qm", tmp], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0 or not Path(tmp).stat().st_size:
            Path(tmp).unlink(missing_ok=True)
            log.warning("lrelease failed on %s: %s", ts, (done.stderr or done.stdout).strip())
            return False
        os.replace(tmp, qm)
        return True
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot compile %s with %s: %s", ts, tool, exc)
        return False


def compile_all(out_dir: Path | None = None, lrelease: Path | None = None) -> list[Path]:
    """Compile every `.ts` (beside it, or into `out_dir`); returns the `.qm` files written."""
    written = []
    for ts in sorted(ts_dir().glob(f"{CATALOGUE}_*.ts")):
        qm = (out_dir or ts.parent) / ts.with_suffix(".qm").name
        if compile_ts(ts, qm, lrelease):
            written.append(qm)
    return written


def qm_file(language: str, *, cache: Path | None = None, lrelease: Path | None = None) -> Path | None:
    """The compiled translation for `language`, compiling it first when missing or stale."""
    name = f"{CATALOGUE}_{language}.qm"
    bundled = bundled_dir()
    if bundled is not None and (bundled / name).is_file():
        return bundled / name
    ts = ts_dir() / f"{CATALOGUE}_{language}.ts"
    if not ts.is_file():
        log.warning("no translation source %s", ts)
        return None
    target = Path(cache or cache_dir()) / name
    for qm in (ts.with_suffix(".qm"), target):
        if qm.is_file() and qm.stat().st_mtime >= ts.stat().st_mtime:
            return qm
    return target if compile_ts(ts, target, lrelease) else None


def resolve_language(choice: str, system_name: str) -> str:
    """The language to show: the user's `choice`, else the system locale's; 'en' when untranslated.

    `system_name` is a locale name such as 'ru_RU', 'zh_Hans_CN' or 'de_DE'.
    """
    name = (choice or system_name or "en").replace("-", "_")
    if name in TRANSLATED or name == "en":
        return name
    if name.startswith("zh"):
        return "zh_CN"  # the one Chinese translation is Simplified
    base = name.split("_")[0]
    return base if base in TRANSLATED else "en"


def stored_choice(qsettings: Any) -> str:
    """The language chosen in Settings ('' follows the system)."""
    value = qsettings.value(SETTINGS_KEY, "") if qsettings is not None else ""
    return value if isinstance(value, str) and value in LANGUAGES else ""


def remove_translators(app: Any) -> None:
    """Uninstall what `install_translators` installed (English again, the system's locale)."""
    from PySide6.QtCore import QLocale

    while _installed:
        app.removeTranslator(_installed.pop())
    QLocale.setDefault(QLocale.system())


def _set_locale(language: str) -> None:
    """QLocale() follows the UI language (numbers, and code that asks QLocale which language)."""
    from PySide6.QtCore import QLocale

    QLocale.setDefault(QLocale(language))


def install_translators(app: Any, choice: str = "", *, system_name: str | None = None,
                        cache: Path | None = None, lrelease: Path | None = None) -> str:
    """Install the app's and Qt's translations for `choice` (or the system language).

    Returns the language shown ('en' when the translation cannot be had). Never raises.
    """
    from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator

    remove_translators(app)
    if system_name is None:  # the UI language the user prefers (not the number-format locale)
        system_name = next(iter(QLocale.system().uiLanguages()), QLocale.system().name())
    language = resolve_language(choice, system_name)
    if language == "en":
        if choice == "en":
            _set_locale("en_US")  # chosen on a system in another language
        return "en"
    try:
        qm = qm_file(language, cache=cache, lrelease=lrelease)
    except Exception as exc:  # noqa: BLE001 - a translation problem must never stop the start
        log.warning("translation %s unavailable: %s", language, exc)
        qm = None
    if qm is None:
        log.warning("showing English: the %s translation could not be loaded", language)
        return "en"
    ours = QTranslator(app)
    if not ours.load(str(qm)):
        log.warning("showing English: %s is not a valid translation file", qm)
        return "en"
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    qt_own = QTranslator(app)
    if qt_own.load(f"qtbase_{language}", qt_dir) or qt_own.load(f"qtbase_{language.split('_')[0]}", qt_dir):
        app.installTranslator(qt_own)
        _installed.append(qt_own)
    _set_locale(language)
    app.installTranslator(ours)
    _installed.append(ours)
    log.info("UI language: %s (%s)", language, qm)
    return language


def check_translations(cache: Path | None = None) -> str:
    """Load every translation (the smoke test's check, bundle or source); raises RuntimeError."""
    from PySide6.QtCore import QTranslator

    found = []
    for language in TRANSLATED:
        qm = qm_file(language, cache=cache)
        translator = QTranslator()
        if qm is None or not translator.load(str(qm)) or translator.isEmpty():
            raise RuntimeError(f"no usable {language} translation (bundle: {bundled_dir()}, sources: {ts_dir()})")
        found.append(f"{language}: {qm}")
    return ", ".join(found)


def plural(text: str, n: int) -> str:
    """English plural of a `tr(..., n)` result that no translation replaced: '1 image(s)' -> '1 image'.

    A translation has its own plural forms (Russian three, Chinese one) and no '(s)'.
    """
    one = n == 1
    return text.replace("(es)", "" if one else "es").replace("(s)", "" if one else "s")


if __name__ == "__main__":  # python -m desktop_app.ui.i18n [OUT_DIR]: compile every .ts
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    files = compile_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print("\n".join(str(f) for f in files))
    sys.exit(0 if len(files) == len(TRANSLATED) else 1)
