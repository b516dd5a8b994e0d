"""The prompt composer: type, length, options and caption language make the prompt; user presets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QLocale, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QInputDialog,
                               QLabel, QLineEdit, QMenu, QMessageBox,
                               QPlainTextEdit, QPushButton, QSizePolicy, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from ..engine.catalogue import (ALIASES, DEFAULT_LANGUAGE, DEFAULT_LENGTH, DEFAULT_TYPE, LANGUAGES,
                                LENGTHS, MAX_WORDS, MIN_WORDS, OPTIONS, TYPES, CatalogueError,
                                PromptChoice, applicable_options, normalize_length)
from ..library.presets import PresetError, PresetStore, UserPreset
from . import style
from .flow_layout import FlowLayout

log = logging.getLogger(__name__)

CUSTOM = "custom"
WORDS = "words"  # the length combo's "word count" entry
VARIABLES = ("{filename}", "{stem}", "{folder}", "{path}")
#: The RunSettings fields the composer owns.
FIELDS = ("preset", "prompt", "system_prompt", "prompt_type", "prompt_length", "prompt_options",
          "caption_language", "user_preset")


def upgrade_prompt_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Saved settings of earlier versions (a preset name only) in today's prompt fields."""
    data = dict(data)
    if isinstance(data.get("prompt_options"), list):
        data["prompt_options"] = tuple(str(o) for o in data["prompt_options"])
    preset = data.get("preset")
    if "prompt_type" not in data and isinstance(preset, str) and preset != CUSTOM:
        choice = ALIASES.get(preset, PromptChoice(preset))
        data.update(prompt_type=choice.type, prompt_length=choice.length)
    return data


def ui_language() -> str:
    """The catalogue language matching the UI's locale: 'ru', 'zh' or 'en'."""
    language = QLocale().language()
    return {QLocale.Language.Russian: "ru", QLocale.Language.Chinese: "zh"}.get(language, "en")


class PromptComposer(QWidget):
    """Type x length x options x caption language, composed into an editable prompt.

    Editing the prompt text makes it a custom prompt (kept while the choices change) until
    "Reset to composed". User presets are saved, renamed, deleted, exported and imported
    through `store`.

    Signals:
        changed(): the prompt, the system prompt or any choice changed.
    """

    changed = Signal()

    def __init__(self, store: PresetStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else PresetStore.default()
        self._loading = True  # no slot runs while the widgets are being built
        self._custom = False
        self._lang = ui_language()
        self._build()
        self.reload_presets()
        self._loading = False
        self._refresh()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(self._build_presets_row())
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.type_combo = self._combo()
        for key, kind in TYPES.items():
            self.type_combo.addItem(kind.label[self._lang], key)
        self.length_combo = self._combo()
        for key, length in LENGTHS.items():
            self.length_combo.addItem(length.label[self._lang], key)
        self.length_combo.addItem(self.tr("Word count…"), WORDS)
        self.words_spin = QSpinBox()
        self.words_spin.setRange(MIN_WORDS, MAX_WORDS)
        self.words_spin.setValue(60)
        self.words_spin.setSuffix(self.tr(" words"))
        self.words_spin.valueChanged.connect(self._on_choice_changed)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length_combo, 1)
        length_row.addWidget(self.words_spin)
        self.language_combo = self._combo()
        for code, name in LANGUAGES.items():
            self.language_combo.addItem(name, code)
        self.language_combo.setToolTip(self.tr("The prompt is written in this language, so the "
                                               "model answers in it"))
        form.addRow(self.tr("Type"), self.type_combo)
        form.addRow(self.tr("Length"), length_row)
        form.addRow(self.tr("Caption in"), self.language_combo)
        layout.addLayout(form)
        layout.addWidget(self._build_options())
        layout.addLayout(self._build_prompt_header())
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText(self.tr("What should the model write?"))
        self.prompt_edit.setFixedHeight(124)
        self.prompt_edit.textChanged.connect(self._on_prompt_edited)
        layout.addWidget(self.prompt_edit)
        links = " ".join(f'<a href="{v}" style="color:{style.ACCENT_HOVER};text-decoration:none">{v}</a>'
                         for v in VARIABLES)
        self.variables_label = QLabel(self.tr("Insert: %1").replace("%1", links))
        self.variables_label.setObjectName("hint")
        self.variables_label.setWordWrap(True)
        self.variables_label.linkActivated.connect(self._on_variable_clicked)
        layout.addWidget(self.variables_label)
        self.system_edit = QPlainTextEdit()
        self.system_edit.setPlaceholderText(self.tr("System prompt (optional)"))
        self.system_edit.setFixedHeight(56)
        self.system_edit.textChanged.connect(self._on_system_edited)
        layout.addWidget(self.system_edit)

    def _build_presets_row(self) -> QVBoxLayout:
        box = QVBoxLayout()
        box.setSpacing(2)
        row = QHBoxLayout()
        self.user_combo = self._combo()
        self.user_combo.setToolTip(self.tr("Your saved presets"))
        self.save_button = QPushButton(self.tr("Save…"))
        self.save_button.setToolTip(self.tr("Save these choices as a preset"))
        self.save_button.setStyleSheet("padding: 6px 9px;")  # leave the preset names room
        self.save_button.clicked.connect(self._on_save_clicked)
        self.more_button = QToolButton()
        self.more_button.setObjectName("flat")
        self.more_button.setText("⋯")
        self.more_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        self.more_button.setToolTip(self.tr("Rename, delete, export or import presets"))
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        self.rename_action = menu.addAction(self.tr("Rename preset…"), self._on_rename_clicked)
        self.delete_action = menu.addAction(self.tr("Delete preset…"), self._on_delete_clicked)
        menu.addSeparator()
        self.export_action = menu.addAction(self.tr("Export presets…"), self._on_export_clicked)
        self.import_action = menu.addAction(self.tr("Import presets…"), self._on_import_clicked)
        self.more_button.setMenu(menu)
        row.addWidget(self.user_combo, 1)
        row.addWidget(self.save_button)
        row.addWidget(self.more_button)
        box.addLayout(row)
        self.status_label = QLabel()
        self.status_label.setObjectName("hint")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(8000)
        self._status_timer.timeout.connect(self.status_label.hide)
        box.addWidget(self.status_label)
        return box

    def _build_options(self) -> QWidget:
        holder = QWidget()
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 2, 0, 2)
        box.setSpacing(4)
        label = QLabel(self.tr("Options"))
        label.setObjectName("hint")
        box.addWidget(label)
        chips = QWidget()
        chips.setStyleSheet(  # chips read as toggles: outlined when off, filled when on
            f"QToolButton {{ border: 1px solid {style.BORDER}; border-radius: 11px; padding: 2px 8px;"
            f" color: {style.MUTED}; background: transparent; }}"
            f" QToolButton:hover {{ background: {style.RAISED}; color: {style.TEXT}; }}"
            f" QToolButton:checked {{ background: {style.ACCENT}; border-color: {style.ACCENT}; color: white; }}")
        flow = FlowLayout(chips)
        self.option_buttons: dict[str, QToolButton] = {}
        self.value_edits: dict[str, QLineEdit] = {}
        for key, option in OPTIONS.items():
            chip = QToolButton()
            chip.setCheckable(True)
            chip.setText(option.label[self._lang])
            chip.setToolTip(option.text[self._lang].replace("{value}", "…"))
            chip.toggled.connect(self._on_choice_changed)
            flow.addWidget(chip)
            self.option_buttons[key] = chip
            if option.takes_value:
                edit = QLineEdit()
                edit.setPlaceholderText(option.value_label[self._lang])
                edit.setClearButtonEnabled(True)
                edit.textChanged.connect(self._on_choice_changed)
                self.value_edits[key] = edit
        box.addWidget(chips)
        self.values_form = QFormLayout()
        for key, edit in self.value_edits.items():
            self.values_form.addRow(OPTIONS[key].value_label[self._lang], edit)
        box.addLayout(self.values_form)
        return holder

    def _build_prompt_header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("hint")
        self.reset_button = QPushButton(self.tr("Reset to composed"))
        self.reset_button.setObjectName("link")
        self.reset_button.setToolTip(self.tr("Throw away your edits and use the composed prompt"))
        self.reset_button.clicked.connect(self.reset_to_composed)
        row.addWidget(self.prompt_label, 1)
        row.addWidget(self.reset_button)
        return row

    def _combo(self) -> QComboBox:
        combo = QComboBox()
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        combo.currentIndexChanged.connect(self._on_choice_changed)
        return combo

    def relabel(self) -> None:
        """Show the catalogue's labels in the UI's current language (after a language change)."""
        self._lang = ui_language()
        for combo, table in ((self.type_combo, TYPES), (self.length_combo, LENGTHS)):
            for i in range(combo.count()):
                if combo.itemData(i) in table:
                    combo.setItemText(i, table[combo.itemData(i)].label[self._lang])
        for key, chip in self.option_buttons.items():
            chip.setText(OPTIONS[key].label[self._lang])
            chip.setToolTip(OPTIONS[key].text[self._lang].replace("{value}", "…"))
        for key, edit in self.value_edits.items():
            edit.setPlaceholderText(OPTIONS[key].value_label[self._lang])
            label = self.values_form.labelForField(edit)
            if isinstance(label, QLabel):
                label.setText(OPTIONS[key].value_label[self._lang])

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.LanguageChange, QEvent.Type.LocaleChange):
            self.relabel()
        super().changeEvent(event)

    # -- values ------------------------------------------------------------------------------
    def choice(self) -> PromptChoice:
        """The type, length, options and language as chosen (empty value options left out)."""
        options = []
        for key, chip in self.option_buttons.items():
            if not chip.isChecked():
                continue
            if key in self.value_edits:
                value = self.value_edits[key].text().strip()
                if value:
                    options.append(f"{key}={value}")
            else:
                options.append(key)
        length = self.length_combo.currentData()
        if length == WORDS:
            length = str(self.words_spin.value())
        return PromptChoice.make(self.type_combo.currentData(), length, options,
                                 self.language_combo.currentData())

    def composed(self) -> str:
        """The prompt the choices compose."""
        return self.choice().prompt()

    def is_custom(self) -> bool:
        """Whether the prompt text was edited away from the composed one."""
        return self._custom

    def fields(self) -> dict[str, Any]:
        """The RunSettings fields of the composer (see FIELDS)."""
        choice = self.choice()
        return {"preset": CUSTOM if self._custom else choice.type, "prompt": self.prompt_edit.toPlainText(),
                "system_prompt": self.system_edit.toPlainText(), "prompt_type": choice.type,
                "prompt_length": choice.length, "prompt_options": choice.options,
                "caption_language": choice.language, "user_preset": self.user_combo.currentData() or ""}

    def set_fields(self, **values: Any) -> None:
        """Show saved RunSettings fields; bad or unknown values fall back to the defaults."""
        self._loading = True
        try:
            self._select(self.user_combo, values.get("user_preset", ""))
            self._show_choice(self._safe_choice(values))
            self.system_edit.setPlainText(values.get("system_prompt", ""))
            self._custom = values.get("preset") == CUSTOM
            self.prompt_edit.setPlainText(values.get("prompt", "") if self._custom else self.composed())
        finally:
            self._loading = False
        self._refresh()

    @staticmethod
    def _safe_choice(values: dict[str, Any]) -> PromptChoice:
        try:
            return PromptChoice.make(values.get("prompt_type", DEFAULT_TYPE),
                                     values.get("prompt_length", DEFAULT_LENGTH),
                                     values.get("prompt_options", ()),
                                     values.get("caption_language", DEFAULT_LANGUAGE))
        except CatalogueError as exc:
            log.warning("saved prompt choice ignored: %s", exc)
            return PromptChoice()

    def _show_choice(self, choice: PromptChoice) -> None:
        """Put a choice into the widgets (callers hold `_loading`)."""
        self._select(self.type_combo, choice.type)
        length = normalize_length(choice.length)
        if length.isdigit():
            self.words_spin.setValue(int(length))
            length = WORDS
        self._select(self.length_combo, length)
        self._select(self.language_combo, choice.language)
        chosen = dict(o.partition("=")[::2] for o in choice.options)
        for key, chip in self.option_buttons.items():
            chip.setChecked(key in chosen)
            if key in self.value_edits:
                self.value_edits[key].setText(chosen.get(key, ""))

    @staticmethod
    def _select(combo: QComboBox, data: Any) -> None:
        index = combo.findData(data)
        combo.setCurrentIndex(max(index, 0))

    # -- presets -----------------------------------------------------------------------------
    def reload_presets(self, select: str | None = None) -> None:
        """Refill the user preset combo from the store (keeping or choosing `select`)."""
        current = select if select is not None else self.user_combo.currentData()
        loading, self._loading = self._loading, True
        try:
            self.user_combo.clear()
            self.user_combo.addItem(self.tr("No saved preset"), "")
            for name in self.store.names():
                self.user_combo.addItem(name, name)
            self._select(self.user_combo, current or "")
        finally:
            self._loading = loading
        self._refresh_preset_actions()

    def current_preset(self) -> UserPreset:
        """What `save_preset` would store, under `name`."""
        return UserPreset("", self.choice(), self.prompt_edit.toPlainText() if self._custom else "",
                          self.system_edit.toPlainText())

    def save_preset(self, name: str) -> bool:
        """Save the current choices as preset `name` (replacing one of that name)."""
        try:
            preset = self.current_preset()
            saved = self.store.save(UserPreset(name, preset.choice, preset.custom_text, preset.system_prompt))
        except (PresetError, OSError) as exc:
            return self._say(self.tr("Not saved: %1").replace("%1", str(exc)), error=True)
        self.reload_presets(select=saved.name)
        self.changed.emit()
        return self._say(self.tr("Saved preset “%1”.").replace("%1", saved.name))

    def rename_preset(self, new_name: str) -> bool:
        """Rename the selected user preset."""
        old = self.user_combo.currentData()
        try:
            renamed = self.store.rename(old or "", new_name)
        except (PresetError, OSError) as exc:
            return self._say(self.tr("Not renamed: %1").replace("%1", str(exc)), error=True)
        self.reload_presets(select=renamed.name)
        self.changed.emit()
        return self._say(self.tr("Renamed to “%1”.").replace("%1", renamed.name))

    def delete_preset(self) -> bool:
        """Delete the selected user preset (the choices it set stay as they are)."""
        name = self.user_combo.currentData()
        try:
            self.store.delete(name or "")
        except (PresetError, OSError) as exc:
            return self._say(self.tr("Not deleted: %1").replace("%1", str(exc)), error=True)
        self.reload_presets(select="")
        self.changed.emit()
        return self._say(self.tr("Deleted preset “%1”.").replace("%1", name))

    def export_presets(self, path: str | Path) -> bool:
        """Write every user preset to a JSON file."""
        try:
            count = self.store.export(path)
        except (PresetError, OSError) as exc:
            return self._say(self.tr("Not exported: %1").replace("%1", str(exc)), error=True)
        return self._say(self.tr("Exported %1 presets to %2.").replace("%1", str(count))
                         .replace("%2", Path(path).name))

    def import_presets(self, path: str | Path) -> bool:
        """Add the presets of a JSON file (clashing names get a suffix)."""
        try:
            names = self.store.import_file(path)
        except (PresetError, OSError) as exc:
            return self._say(self.tr("Not imported: %1").replace("%1", str(exc)), error=True)
        self.reload_presets()
        return self._say(self.tr("Imported %1 presets: %2").replace("%1", str(len(names)))
                         .replace("%2", ", ".join(names)))

    def apply_preset(self, name: str) -> None:
        """Show a user preset's choices, custom text and system prompt."""
        preset = self.store.get(name)
        self._loading = True
        try:
            self._show_choice(preset.choice)
            self.system_edit.setPlainText(preset.system_prompt)
            self._custom = bool(preset.custom_text.strip())
            self.prompt_edit.setPlainText(preset.custom_text if self._custom else preset.choice.prompt())
        finally:
            self._loading = False
        self._refresh()
        self.changed.emit()

    def _say(self, text: str, error: bool = False) -> bool:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {style.DANGER};" if error else "")
        self.status_label.show()
        if error:  # an error stays until the next message; news fades
            self._status_timer.stop()
        else:
            self._status_timer.start()
        return not error

    # -- refreshing --------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Show the options and length that apply, and keep a non-custom prompt composed."""
        type_key = self.type_combo.currentData()
        applicable = set(applicable_options(type_key))
        for key, chip in self.option_buttons.items():
            chip.setVisible(key in applicable)
            if key in self.value_edits:
                self.values_form.setRowVisible(self.value_edits[key], key in applicable and chip.isChecked())
        takes_length = TYPES[type_key].takes_length
        self.length_combo.setEnabled(takes_length)
        self.length_combo.setToolTip("" if takes_length else self.tr("This type ignores the length"))
        self.words_spin.setVisible(self.length_combo.currentData() == WORDS)
        self.words_spin.setEnabled(takes_length)
        if not self._custom:
            composed = self.composed()
            if self.prompt_edit.toPlainText() != composed:
                loading, self._loading = self._loading, True
                self.prompt_edit.setPlainText(composed)
                self._loading = loading
        self.prompt_label.setText(self.tr("Custom prompt (edited)") if self._custom
                                  else self.tr("Prompt (composed)"))
        self.reset_button.setVisible(self._custom)
        self._refresh_preset_actions()

    def _refresh_preset_actions(self) -> None:
        selected = bool(self.user_combo.currentData())
        self.rename_action.setEnabled(selected)
        self.delete_action.setEnabled(selected)
        self.export_action.setEnabled(self.user_combo.count() > 1)

    @Slot()
    def reset_to_composed(self) -> None:
        """Drop the edits: the prompt is the composed one again."""
        self._custom = False
        self._refresh()
        self.changed.emit()

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_choice_changed(self, *_: Any) -> None:
        if self._loading:
            return
        if self.sender() is self.user_combo:
            name = self.user_combo.currentData()
            if name:
                self.apply_preset(name)
            self._refresh_preset_actions()
            return
        self._refresh()
        self.changed.emit()

    @Slot()
    def _on_prompt_edited(self) -> None:
        if self._loading:
            return
        custom = self.prompt_edit.toPlainText() != self.composed()
        if custom != self._custom:
            self._custom = custom
            self._refresh()
        self.changed.emit()

    @Slot()
    def _on_system_edited(self) -> None:
        if not self._loading:
            self.changed.emit()

    @Slot(str)
    def _on_variable_clicked(self, variable: str) -> None:
        self.prompt_edit.insertPlainText(variable)
        self.prompt_edit.setFocus()

    @Slot()
    def _on_save_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("Save preset"), self.tr("Preset name:"),
                                        text=self.user_combo.currentData() or "")
        if not ok or not name.strip():
            return
        taken = {n.casefold() for n in self.store.names()}
        if name.strip().casefold() in taken and name.strip() != self.user_combo.currentData():
            answer = QMessageBox.question(self, self.tr("Save preset"),
                                          self.tr("Replace the preset “%1”?").replace("%1", name.strip()))
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.save_preset(name)

    @Slot()
    def _on_rename_clicked(self) -> None:
        old = self.user_combo.currentData()
        if not old:
            return
        name, ok = QInputDialog.getText(self, self.tr("Rename preset"), self.tr("New name:"), text=old)
        if ok and name.strip() and name.strip() != old:
            self.rename_preset(name)

    @Slot()
    def _on_delete_clicked(self) -> None:
        name = self.user_combo.currentData()
        if not name:
            return
        answer = QMessageBox.question(self, self.tr("Delete preset"),
                                      self.tr("Delete the preset “%1”?").replace("%1", name))
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_preset()

    @Slot()
    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export presets"), "prompt-presets.json",
                                              self.tr("Presets (*.json)"))
        if path:
            self.export_presets(path)

    @Slot()
    def _on_import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Import presets"), "",
                                              self.tr("Presets (*.json);;All files (*)"))
        if path and not self.import_presets(path):
            QMessageBox.warning(self, self.tr("Import presets"), self.status_label.text())
