"""The prompt composer offscreen: the preview follows the choices, edits make a custom prompt,
user presets through the widget, and the settings panel restores what was chosen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from PySide6.QtCore import QLocale, QSettings
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox, QScrollArea

from desktop_app.engine.catalogue import OPTIONS, TYPES, applicable_options, compose
from desktop_app.library.presets import PresetStore
from desktop_app.ui import style
from desktop_app.ui.prompt_composer import PromptComposer
from desktop_app.ui.settings_panel import SETTINGS_KEY, RunSettings, SettingsPanel


@pytest.fixture(autouse=True)
def themed(qapp: QApplication) -> None:
    style.apply_theme(qapp)


@pytest.fixture
def composer(qtbot: Any, tmp_path: Path) -> Iterator[PromptComposer]:
    widget = PromptComposer(PresetStore.default(tmp_path / "data"))
    host = QScrollArea()  # as in the settings panel (a bare top level's size hints warn offscreen)
    host.setWidgetResizable(True)
    host.setWidget(widget)
    qtbot.addWidget(host)
    host.resize(320, 800)
    host.show()
    yield widget
    host.close()


def pick(combo: Any, data: Any) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_changing_the_type_updates_the_preview_and_the_options_offered(composer: PromptComposer, qtbot: Any) -> None:
    assert composer.prompt_edit.toPlainText() == compose("detailed")
    with qtbot.waitSignal(composer.changed):
        pick(composer.type_combo, "tags")
    assert composer.prompt_edit.toPlainText() == compose("tags")
    for key, chip in composer.option_buttons.items():
        assert chip.isVisible() == (key in applicable_options("tags"))
    pick(composer.type_combo, "ocr")
    assert composer.prompt_edit.toPlainText() == compose("ocr")
    assert not composer.length_combo.isEnabled()  # OCR ignores the length
    assert not any(chip.isVisible() for chip in composer.option_buttons.values())
    pick(composer.type_combo, "grounding")
    assert composer.option_buttons["objects"].isVisible() and '"bbox_2d"' in composer.prompt_edit.toPlainText()
    assert not composer.is_custom()


def test_options_lengths_and_language_toggle_into_the_prompt(composer: PromptComposer) -> None:
    composer.option_buttons["lighting"].setChecked(True)
    assert OPTIONS["lighting"].text["en"] in composer.prompt_edit.toPlainText()
    name = composer.option_buttons["name"]
    assert not composer.value_edits["name"].isVisible()
    name.setChecked(True)
    assert composer.value_edits["name"].isVisible()
    assert "refer to them" not in composer.prompt_edit.toPlainText()  # no name yet: no effect
    composer.value_edits["name"].setText("Anna")
    assert "refer to them as Anna" in composer.prompt_edit.toPlainText()
    composer.option_buttons["lighting"].setChecked(False)
    assert OPTIONS["lighting"].text["en"] not in composer.prompt_edit.toPlainText()
    pick(composer.length_combo, "words")
    assert composer.words_spin.isVisible()
    composer.words_spin.setValue(42)
    assert "about 42 words" in composer.prompt_edit.toPlainText()
    pick(composer.language_combo, "zh")
    assert composer.prompt_edit.toPlainText() == compose("detailed", "42", ["name=Anna"], "zh")
    fields = composer.fields()
    assert fields["prompt_options"] == ("name=Anna",) and fields["prompt_length"] == "42"
    assert fields["caption_language"] == "zh" and fields["preset"] == "detailed"


def test_editing_makes_a_custom_prompt_until_reset(composer: PromptComposer) -> None:
    composer.prompt_edit.setPlainText("Only colours, please.")
    assert composer.is_custom() and composer.reset_button.isVisible()
    assert composer.fields()["preset"] == "custom"
    pick(composer.type_combo, "tags")  # the user's text stays while the choices change
    assert composer.prompt_edit.toPlainText() == "Only colours, please."
    composer.reset_button.click()
    assert not composer.is_custom() and not composer.reset_button.isVisible()
    assert composer.prompt_edit.toPlainText() == compose("tags")
    composer.prompt_edit.setPlainText(compose("tags"))  # typed back to the composed text
    assert not composer.is_custom()


def test_user_presets_through_the_widget(composer: PromptComposer, tmp_path: Path, monkeypatch: Any) -> None:
    pick(composer.type_combo, "product")
    composer.option_buttons["sfw"].setChecked(True)
    composer.system_edit.setPlainText("You write for a shop.")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Shop", True))
    composer.save_button.click()
    assert composer.user_combo.currentData() == "Shop" and "Saved" in composer.status_label.text()
    assert composer.store.get("Shop").prompt() == compose("product", options=["sfw"])
    composer.prompt_edit.setPlainText("Custom words")
    assert composer.save_preset("Custom one")
    pick(composer.type_combo, "ocr")
    composer.system_edit.clear()
    pick(composer.user_combo, "Shop")  # choosing a preset shows its choices and system prompt
    assert composer.type_combo.currentData() == "product" and composer.option_buttons["sfw"].isChecked()
    assert composer.system_edit.toPlainText() == "You write for a shop." and not composer.is_custom()
    pick(composer.user_combo, "Custom one")
    assert composer.is_custom() and composer.prompt_edit.toPlainText() == "Custom words"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Mine", True))
    composer.rename_action.trigger()
    assert composer.store.names() == ["Mine", "Shop"] and composer.user_combo.currentData() == "Mine"
    exported = tmp_path / "out.json"
    assert composer.export_presets(exported) and json.loads(exported.read_text())["presets"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    composer.delete_action.trigger()
    assert composer.store.names() == ["Shop"] and composer.user_combo.currentData() == ""
    assert not composer.rename_action.isEnabled()
    assert composer.import_presets(exported)
    assert composer.store.names() == ["Mine", "Shop", "Shop (2)"]
    assert [composer.user_combo.itemData(i) for i in range(composer.user_combo.count())] == ["", "Mine", "Shop", "Shop (2)"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "type": "nope"}')
    assert not composer.import_presets(bad)
    assert str(bad) in composer.status_label.text() and "unknown prompt type" in composer.status_label.text()
    assert not composer.save_preset("detailed")  # a built-in name is refused, and said so
    assert "built-in" in composer.status_label.text()


def test_settings_panel_persists_and_restores_the_choice(qtbot: Any, tmp_path: Path) -> None:
    ini = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel = SettingsPanel(ini, data_dir=tmp_path / "data")
    qtbot.addWidget(panel)
    c = panel.composer
    pick(c.type_combo, "diffusion")
    pick(c.length_combo, "long")
    pick(c.language_combo, "ru")
    c.option_buttons["camera_angle"].setChecked(True)
    c.option_buttons["name"].setChecked(True)
    c.value_edits["name"].setText("Bo")
    assert c.save_preset("Diffusion RU")
    expected = panel.settings()
    assert expected.prompt == compose("diffusion", "long", ["camera_angle", "name=Bo"], "ru")
    assert expected.request([tmp_path / "a.png"]).prompt == expected.prompt
    panel.save()
    again = SettingsPanel(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                          data_dir=tmp_path / "data")
    qtbot.addWidget(again)
    assert again.settings() == expected
    assert again.composer.user_combo.currentData() == "Diffusion RU"
    assert again.composer.value_edits["name"].text() == "Bo"
    again.prompt_edit.setPlainText("my own words")
    custom = again.settings()
    assert custom.preset == "custom" and custom.prompt_type == "diffusion"
    assert RunSettings.from_json(custom.to_json()) == custom


@pytest.mark.parametrize("stored, type_key, length, custom", [
    ({"preset": "short", "prompt": "Write a one-sentence caption for this image."}, "straightforward", "very_short", False),
    ({"preset": "tags", "prompt": "old tags text"}, "tags", "any", False),
    ({"preset": "custom", "prompt": "Mine {filename}"}, "detailed", "any", True),
    ({"preset": "gone", "prompt_type": "gone", "prompt_options": ["shiny"]}, "detailed", "any", False),
    ({"prompt_type": "tags", "prompt_length": "huge", "prompt_options": "not a list"}, "detailed", "any", False),
])
def test_old_and_bad_saved_settings_load(qtbot: Any, tmp_path: Path, stored: dict, type_key: str,
                                         length: str, custom: bool) -> None:
    ini = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    ini.setValue(SETTINGS_KEY, json.dumps({"model": "m", **stored}))
    panel = SettingsPanel(ini, data_dir=tmp_path / "data")
    qtbot.addWidget(panel)
    s = panel.settings()
    assert (s.prompt_type, s.prompt_length, s.model) == (type_key, length, "m")
    assert panel.composer.is_custom() == custom
    assert s.prompt == (stored["prompt"] if custom else compose(type_key, length))


def test_labels_follow_the_ui_language(qtbot: Any, tmp_path: Path) -> None:
    previous = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.Russian))
    try:
        widget = PromptComposer(PresetStore.default(tmp_path))
        qtbot.addWidget(widget)
    finally:
        QLocale.setDefault(previous)
    assert widget.type_combo.itemText(0) == TYPES["detailed"].label["ru"]
    assert widget.option_buttons["lighting"].text() == OPTIONS["lighting"].label["ru"]
    assert widget.prompt_edit.toPlainText() == compose("detailed")  # the caption language is separate
    QLocale.setDefault(QLocale(QLocale.Language.Chinese))
    try:
        widget.relabel()
    finally:
        QLocale.setDefault(previous)
    assert widget.type_combo.itemText(0) == TYPES["detailed"].label["zh"]
    assert widget.option_buttons["name"].text() == OPTIONS["name"].label["zh"]
    assert widget.values_form.labelForField(widget.value_edits["name"]).text() == "名字"
