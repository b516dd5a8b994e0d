"""The Settings row that picks the UI language (stored in QSettings, applied at the next start)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from . import i18n


class LanguageChooser(QWidget):
    """A 'Language' combo (System / English / Русский / 中文) and a note that it applies after restart."""

    def __init__(self, qsettings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._qsettings = qsettings
        self.combo = QComboBox()
        for code, name in i18n.LANGUAGES.items():
            self.combo.addItem(self.tr("System") if code == "" else name, code)
        self._initial = i18n.stored_choice(qsettings)
        self.combo.setCurrentIndex(max(0, self.combo.findData(self._initial)))
        self.combo.currentIndexChanged.connect(self._on_combo_changed)
        self.note = QLabel(self.tr("The language changes the next time Caption Studio starts."))
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.note.hide()
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Language"), self.combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.note)

    def choice(self) -> str:
        """The chosen code ('' follows the system)."""
        return self.combo.currentData() or ""

    def _on_combo_changed(self) -> None:
        if self._qsettings is not None:
            self._qsettings.setValue(i18n.SETTINGS_KEY, self.choice())
        self.note.setVisible(self.choice() != self._initial)
