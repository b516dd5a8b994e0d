"""The window shows a generation without caption text as what it is (issue 20): the store
keeps the caption it had, the tile gets a badge, the panel a chip, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor

from desktop_app.engine import ImageCaptioned
from desktop_app.library import Library, RunPolicy, Status
from desktop_app.ui.caption_panel import CaptionPanel
from desktop_app.ui.grid import ThumbnailGrid
from desktop_app.ui.media_model import PROBLEM_TEXT, MediaItem, MediaListModel
from desktop_app.ui.store_ops import commit_result

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


def unfinished(path: Path) -> ImageCaptioned:
    return ImageCaptioned(path, "", ("",), True, reasoning="I see a cat and", finish="length",
                          reasoning_cut=True, metadata={"params": {"max_new_tokens": 32}})


@pytest.fixture
def library(tmp_path: Path):
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (16, 16), "gray").save(folder / name)
    with Library.open(folder, data_dir=tmp_path / "data") as lib:
        yield lib


def test_a_result_without_text_replaces_no_caption_and_no_sidecar(library):
    a, b = library.root / "a.png", library.root / "b.png"
    library.record_result(a, "the caption before")
    library.write_sidecar(a)
    for path in (a, b):
        record, message = commit_result(library, unfinished(path), RunPolicy.OVERWRITE_ALL, 1)
        assert message and "reasoning did not finish within 32 tokens" in message
        assert "raise Max new tokens" in message
        assert record.problem == "reasoning_unfinished"
    assert a.with_suffix(".txt").read_text().strip() == "the caption before"
    assert library.item(a).caption == "the caption before" and library.item(a).status == Status.DONE
    assert not b.with_suffix(".txt").exists() and library.item(b).status == Status.FAILED
    item = MediaItem.from_record(library.item(b), library.root)
    assert item.problem == "reasoning_unfinished"


def _corner_has(grid: ThumbnailGrid, colour: str) -> bool:
    """Whether the first tile's top-right corner shows `colour` (where the cut badge goes)."""
    image = grid.grab().toImage()
    size = grid.itemDelegate().tile_size()
    want = QColor(colour).rgb()
    return any(image.pixel(x, y) == want for x in range(size // 2, size) for y in range(30))


def test_the_tile_and_the_panel_say_the_reasoning_did_not_finish(qtbot):
    item = MediaItem(Path("/x/a.png"), "a.png", status="failed", failure="no caption: the reasoning "
                     "did not finish within 32 tokens; raise Max new tokens", problem="reasoning_unfinished")
    plain = MediaItem(Path("/x/a.png"), "a.png", status="failed", failure="cannot read the image")
    shown = {}
    for name, it in (("problem", item), ("plain", plain)):
        model = MediaListModel()
        model.set_items([it])
        grid = ThumbnailGrid()
        qtbot.addWidget(grid)
        grid.setModel(model)
        grid.resize(400, 300)
        grid.show()
        qtbot.waitExposed(grid)
        shown[name] = _corner_has(grid, "#c62828")
        if name == "problem":
            tooltip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
            assert QCoreApplication.translate("MediaListModel", PROBLEM_TEXT["reasoning_unfinished"][1]) in tooltip
    assert shown == {"problem": True, "plain": False}

    panel = CaptionPanel()
    qtbot.addWidget(panel)
    panel.show_item(item)
    assert panel.problem_chip.isVisibleTo(panel) and panel.problem_chip.text() == "unfinished"
    assert panel.failure_label.isVisibleTo(panel) and "raise Max new tokens" in panel.failure_label.text()
    panel.show_item(plain)
    assert not panel.problem_chip.isVisibleTo(panel)


# -- short garbage collections on the GUI thread (issue 20) -------------------------------------
@pytest.fixture
def unfrozen():
    """Leave the collector as the other tests expect it."""
    import gc

    gc.unfreeze()
    yield
    gc.unfreeze()


def test_opening_a_folder_freezes_the_heap(qtbot, tmp_path, unfrozen):
    import gc

    from PySide6.QtCore import QSettings

    from desktop_app.ui.main_window import MainWindow

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (16, 16), (i * 60, 0, 0)).save(folder / f"img{i}.png")
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
                        data_dir=tmp_path / "data")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert gc.get_freeze_count() == 0
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        window.open_folder(folder)
    # The folder's items (and what was imported) no longer lengthen every full collection.
    assert gc.get_freeze_count() > 1000
    window.close()


def test_a_frozen_heap_does_not_keep_an_unloaded_model(tiny_model_dir, tmp_path, unfrozen):
    import weakref

    from desktop_app.engine import CaptionEngine, CaptionRequest, LoadOptions
    from desktop_app.ui.store_ops import freeze_heap

    image = tmp_path / "a.png"
    Image.effect_noise((48, 48), 40).convert("RGB").save(image)
    engine = CaptionEngine(str(tiny_model_dir), LoadOptions(device="cpu", dtype="fp32"), runner="generate")
    engine.load()
    list(engine.caption(CaptionRequest.for_paths([image]).with_params(max_new_tokens=4)))
    model = weakref.ref(engine.loaded.model)
    freeze_heap()  # as the window does once the model has loaded; captioning left cycles
    engine.unload()
    assert model() is None
