"""UI languages: the .ts sources are complete, compile, load and change the window's strings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QSettings, QTranslator
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFormLayout

from desktop_app.ui import i18n
from desktop_app.ui.language_chooser import LanguageChooser
from desktop_app.ui.main_window import MainWindow

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

ROOT = Path(__file__).resolve().parents[2]
UPDATE = "bash scripts/update_translations.sh"
#: Plural forms each language must give (Qt's rules: Russian one/few/many, Chinese one).
NUMERUS_FORMS = {"ru": 3, "zh_CN": 1}
PLACEHOLDER = re.compile(r"%(?:\d|n)|\{\w+\}")  # %1, %n, and {name} for str.format


def ts_path(language: str) -> Path:
    return i18n.ts_dir() / f"{i18n.CATALOGUE}_{language}.ts"


def messages(ts: Path) -> Iterator[tuple[str, ET.Element]]:
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            yield name, message


def unfinished(ts: Path) -> list[str]:
    """'Context: source' of every message without a finished translation."""
    todo = []
    for context, message in messages(ts):
        translation = message.find("translation")
        texts = [f.text or "" for f in translation.iter("numerusform")] or [translation.text or ""]
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not all(t.strip() for t in texts):
            todo.append(f"{context}: {message.findtext('source')!r}")
    return todo


@pytest.fixture(autouse=True)
def english_after(qapp: QApplication) -> Iterator[None]:
    """Every test leaves the application in English, as the other tests expect."""
    yield
    i18n.remove_translators(qapp)


@pytest.fixture
def make_window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    made: list[MainWindow] = []

    def factory() -> MainWindow:
        window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
                            data_dir=tmp_path / "data")
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield factory
    for window in made:
        window.close()


def visible_strings(window: MainWindow) -> dict[str, Any]:
    device_label = None
    for layout in window.settings_panel.widget().findChildren(QFormLayout):
        label = layout.labelForField(window.settings_panel.device_combo)
        if label is not None:
            device_label = label.text()
    return {
        "menus": [a.text() for a in window.menuBar().actions()],
        "caption_all": window.caption_all_action.text(),
        "device_label": device_label,
        "pill_all": window.filter_buttons["all"].text(),
        "stage": window.stage_label.text(),
        "drop_hint": window.drop_hint.findChildren(type(window.stage_label))[0].text(),
    }


# -- the sources ------------------------------------------------------------------------------
@pytest.mark.parametrize("language", i18n.TRANSLATED)
def test_ts_parses_and_every_message_is_translated(language: str) -> None:
    ts = ts_path(language)
    root = ET.parse(ts).getroot()
    assert root.get("language") == language
    found = list(messages(ts))
    assert len(found) > 200, "the catalogue lost its strings"
    todo = unfinished(ts)
    assert not todo, (f"{len(todo)} untranslated string(s) in {ts.name}: translate them (edit the "
                      f"<translation> or use pyside6-linguist), then run `{UPDATE}`:\n" + "\n".join(todo))
    for context, message in found:
        source = message.findtext("source")
        translation = message.find("translation")
        forms = [f.text for f in translation.iter("numerusform")]
        if message.get("numerus") == "yes":
            assert len(forms) == NUMERUS_FORMS[language], (context, source)
        for text in forms or [translation.text]:
            assert sorted(set(PLACEHOLDER.findall(text))) == sorted(set(PLACEHOLDER.findall(source))), \
                f"{ts.name} {context}: {source!r} -> {text!r} changes the placeholders"
            if re.search(r"&\w", source):
                assert re.search(r"&\w", text), f"{ts.name}: {text!r} lost the keyboard accelerator"


def test_sources_hold_no_string_missing_from_the_ts(tmp_path: Path) -> None:
    """lupdate over today's code adds nothing untranslated: new tr() strings need translating."""
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    if not lupdate.exists():
        lupdate = Path(shutil.which("pyside6-lupdate") or "")
    if not lupdate.is_file():
        pytest.skip("pyside6-lupdate is not installed")
    sources = sorted(str(p) for p in (ROOT / "desktop_app").rglob("*.py")
                     if re.search(r"self\.tr\(|QCoreApplication\.translate\(|QT_TRANSLATE_NOOP",
                                  p.read_text(encoding="utf-8")))
    for language in i18n.TRANSLATED:
        copy = tmp_path / ts_path(language).name
        shutil.copy(ts_path(language), copy)
        subprocess.run([str(lupdate), "-silent", "-no-obsolete", "-locations", "none", *sources,
                        "-ts", str(copy)], check=True, capture_output=True, timeout=120)
        todo = unfinished(copy)
        assert not todo, (f"{len(todo)} string(s) in the code are not in {copy.name} or not translated: "
                          f"run `{UPDATE}`, translate the unfinished ones in resources/i18n/, and run it "
                          "again:\n" + "\n".join(todo))


def test_module_tables_are_marked_for_translation() -> None:
    """Module-level labels are QT_TRANSLATE_NOOP strings, found in the catalogue under their context."""
    from desktop_app.ui.grid import STATUS_STYLE
    from desktop_app.ui.grid_controller import _FILTER_PILLS
    from desktop_app.ui.run_controller import _STAGE_WORDS

    catalogue = {(c, m.findtext("source")) for c, m in messages(ts_path("ru"))}
    for context, texts in (("TileDelegate", [label for _, label in STATUS_STYLE.values()]),
                           ("GridControllerMixin", [label for _, label in _FILTER_PILLS]),
                           ("RunControllerMixin", list(_STAGE_WORDS.values()))):
        for text in texts:
            assert (context, text) in catalogue


# -- compiling ----------------------------------------------------------------------------------
def test_compile_and_load_a_qm(tmp_path: Path) -> None:
    assert i18n.find_lrelease() is not None, "PySide6 ships lrelease"
    qm = tmp_path / "ru.qm"
    assert i18n.compile_ts(ts_path("ru"), qm)
    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("WindowChromeMixin", "&File") == "&Файл"
    assert translator.translate("LivePanel", "%n caption(s) in flight  ·  %1 finished this run", "", 3) \
        .startswith("В работе %n подписи")
    assert not list(tmp_path.glob(".*")), "the temporary file is gone"


def test_stale_or_missing_qm_is_compiled_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "i18n"
    sources.mkdir()
    shutil.copy(ts_path("zh_CN"), sources)
    monkeypatch.setattr(i18n, "ts_dir", lambda: sources)
    cache = tmp_path / "cache"
    qm = i18n.qm_file("zh_CN", cache=cache)
    assert qm == cache / "caption_studio_zh_CN.qm" and qm.stat().st_size > 1000
    assert i18n.qm_file("zh_CN", cache=cache) == qm  # fresh: used as it is
    stale = qm.stat().st_mtime - 10
    os.utime(qm, (stale, stale))
    assert i18n.qm_file("zh_CN", cache=cache) == qm
    assert qm.stat().st_mtime > stale  # older than its .ts: compiled again
    beside = sources / "caption_studio_zh_CN.qm"
    assert i18n.compile_ts(sources / "caption_studio_zh_CN.ts", beside)
    assert i18n.qm_file("zh_CN", cache=cache) == beside  # setup.sh's copy wins when fresh


def test_a_frozen_bundle_uses_its_bundled_qm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "i18n").mkdir()
    bundled = tmp_path / "i18n" / "caption_studio_ru.qm"
    assert i18n.compile_ts(ts_path("ru"), bundled)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(i18n, "find_lrelease", lambda: None)
    assert i18n.qm_file("ru", cache=tmp_path / "cache") == bundled


# -- choosing the language ----------------------------------------------------------------------
@pytest.mark.parametrize(("choice", "system", "expected"), [
    ("", "ru_RU", "ru"), ("", "ru_UA", "ru"), ("", "ru-Cyrl-RU", "ru"), ("", "zh-Hans-CN", "zh_CN"), ("", "zh_CN", "zh_CN"), ("", "zh_Hans_SG", "zh_CN"),
    ("", "zh_TW", "zh_CN"), ("", "de_DE", "en"), ("", "C", "en"), ("", "", "en"), ("en", "ru_RU", "en"),
    ("ru", "en_US", "ru"), ("zh_CN", "de_DE", "zh_CN"), ("klingon", "ru_RU", "en"),
])
def test_resolve_language(choice: str, system: str, expected: str) -> None:
    assert i18n.resolve_language(choice, system) == expected


def test_english_plurals() -> None:
    assert i18n.plural("1 image(s)", 1) == "1 image"
    assert i18n.plural("2 image(s) · 3 match(es)", 2) == "2 images · 3 matches"
    assert i18n.plural("2 изображения", 2) == "2 изображения"


# -- the window in each language ------------------------------------------------------------------
def test_window_in_russian(qapp: QApplication, make_window: Any, tmp_path: Path) -> None:
    assert i18n.install_translators(qapp, "ru", cache=tmp_path / "cache") == "ru"
    window = make_window()
    shown = visible_strings(window)
    assert shown["menus"] == ["&Файл", "&Правка", "&Подписи", "&Вид"]
    assert shown["caption_all"] == "Подписать все"
    assert shown["device_label"] == "Устройство"
    assert shown["pill_all"] == "Все"
    assert shown["stage"] == "Готово"
    assert shown["drop_hint"] == "Перетащите сюда папку с изображениями или видео"
    assert window.settings_panel.language_chooser.combo.itemText(0) == "Как в системе"
    assert QLocale().language() == QLocale.Language.Russian
    # Qt's own strings (standard buttons) come from qtbase_ru.qm of the PySide6 package.
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    assert buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "Отмена"
    # A plural with Russian forms (a QObject class: Qt picks the form).
    window.live_panel._finished = 5
    assert QCoreApplication.translate("LivePanel", "%n caption(s) in flight  ·  %1 finished this run",
                                      "", 5) == "В работе 5 подписей  ·  готово за этот запуск: %1"


def test_window_in_chinese(qapp: QApplication, make_window: Any, tmp_path: Path) -> None:
    assert i18n.install_translators(qapp, "", system_name="zh_CN", cache=tmp_path / "cache") == "zh_CN"
    window = make_window()
    shown = visible_strings(window)
    assert shown["menus"] == ["文件(&F)", "编辑(&E)", "描述(&C)", "视图(&V)"]
    assert shown["caption_all"] == "全部生成描述"
    assert shown["device_label"] == "设备"
    assert shown["stage"] == "就绪"
    assert QLocale().language() == QLocale.Language.Chinese  # code asking QLocale follows the UI
    from desktop_app.ui.prompt_composer import ui_language

    assert ui_language() == "zh"  # the prompt composer shows its catalogue in Chinese
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    assert buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"


def test_unknown_language_shows_english(qapp: QApplication, make_window: Any, tmp_path: Path) -> None:
    assert i18n.install_translators(qapp, "", system_name="de_DE", cache=tmp_path / "cache") == "en"
    shown = visible_strings(make_window())
    assert shown["menus"] == ["&File", "&Edit", "&Caption", "&View"]
    assert shown["caption_all"] == "Caption All"
    assert shown["device_label"] == "Device"
    assert QLocale() == QLocale.system()


def test_switching_back_to_english_removes_the_translators(qapp: QApplication, tmp_path: Path) -> None:
    i18n.install_translators(qapp, "ru", cache=tmp_path / "cache")
    assert QCoreApplication.translate("WindowChromeMixin", "&View") == "&Вид"
    assert i18n.install_translators(qapp, "en") == "en"
    assert QCoreApplication.translate("WindowChromeMixin", "&View") == "&View"


def test_no_lrelease_starts_in_english(qapp: QApplication, make_window: Any, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    sources = tmp_path / "i18n"
    sources.mkdir()
    shutil.copy(ts_path("ru"), sources)  # no .qm beside it, none in the cache
    monkeypatch.setattr(i18n, "ts_dir", lambda: sources)
    monkeypatch.setattr(i18n, "find_lrelease", lambda: None)
    with caplog.at_level("WARNING", logger=i18n.__name__):
        assert i18n.install_translators(qapp, "ru", cache=tmp_path / "cache") == "en"
    assert "no lrelease" in caplog.text and "showing English" in caplog.text
    assert visible_strings(make_window())["caption_all"] == "Caption All"


def test_a_broken_lrelease_starts_in_english(qapp: QApplication, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "i18n"
    sources.mkdir()
    shutil.copy(ts_path("ru"), sources)
    monkeypatch.setattr(i18n, "ts_dir", lambda: sources)
    broken = tmp_path / "lrelease"
    broken.write_text("#!/bin/sh\necho 'cannot run' >&2\nexit 3\n")
    broken.chmod(0o755)
    assert i18n.install_translators(qapp, "ru", cache=tmp_path / "cache", lrelease=broken) == "en"
    assert not (tmp_path / "cache" / "caption_studio_ru.qm").exists()


def test_the_language_choice_is_stored(qtbot: Any, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    chooser = LanguageChooser(settings)
    qtbot.addWidget(chooser)
    chooser.show()
    assert [chooser.combo.itemText(i) for i in range(chooser.combo.count())] == \
        ["System", "English", "Русский", "中文"]
    assert chooser.choice() == "" and not chooser.note.isVisible()
    chooser.combo.setCurrentIndex(chooser.combo.findData("ru"))
    assert settings.value(i18n.SETTINGS_KEY) == "ru"
    assert chooser.note.isVisible() and "next time" in chooser.note.text()
    assert i18n.stored_choice(settings) == "ru"
    settings.setValue(i18n.SETTINGS_KEY, "xx")
    assert i18n.stored_choice(settings) == ""  # an unknown value follows the system
    assert LanguageChooser(settings).choice() == ""


def test_create_application_installs_the_chosen_language(qapp: QApplication) -> None:
    from desktop_app.app import create_application

    assert create_application([], language="ru") is qapp
    assert QCoreApplication.translate("WindowChromeMixin", "Caption All") == "Подписать все"
    create_application([], language="en")
    assert QCoreApplication.translate("WindowChromeMixin", "Caption All") == "Caption All"


@pytest.mark.parametrize(("lang_env", "expected"), [("ru_RU.UTF-8", "ru"), ("zh_CN.UTF-8", "zh_CN"),
                                                     ("de_DE.UTF-8", "en")])
def test_the_system_language_is_followed(lang_env: str, expected: str, tmp_path: Path) -> None:
    """A fresh process with LANG set (no choice stored) shows that language, or English."""
    code = ("from PySide6.QtCore import QCoreApplication\n"
            "from desktop_app.ui import i18n\n"
            "app = QCoreApplication([])\n"
            f"print(i18n.install_translators(app, '', cache={str(tmp_path)!r}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANGUAGE"}
    env.update(LANG=lang_env, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == expected
