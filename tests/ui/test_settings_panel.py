"""The settings panel's Backend fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from desktop_app.ui.settings_panel import SettingsPanel

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


def ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def panel(qtbot: Any, tmp_path: Path) -> SettingsPanel:
    made = SettingsPanel(ini(tmp_path), data_dir=tmp_path / "data")
    qtbot.addWidget(made)
    return made


# -- Backend ------------------------------------------------------------------------------------
def test_remote_fields_are_enabled_only_for_the_remote_backend(qtbot: Any, tmp_path: Path,
                                                               panel: SettingsPanel) -> None:
    remote_fields = (panel.endpoints_edit, panel.remote_model_edit, panel.concurrency_spin)
    assert panel.backend_combo.currentData() == "local"
    assert not any(w.isEnabled() for w in remote_fields)
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))
    assert all(w.isEnabled() for w in remote_fields)
    panel.endpoints_edit.setText("http://localhost:9/v1")
    panel.save()
    again = SettingsPanel(ini(tmp_path), data_dir=tmp_path / "data")  # loads as remote
    qtbot.addWidget(again)
    assert all(w.isEnabled() for w in (again.endpoints_edit, again.remote_model_edit, again.concurrency_spin))
    again.backend_combo.setCurrentIndex(again.backend_combo.findData("local"))
    assert not any(w.isEnabled() for w in (again.endpoints_edit, again.remote_model_edit, again.concurrency_spin))
    assert again.settings().endpoints == "http://localhost:9/v1"  # kept, only greyed out
