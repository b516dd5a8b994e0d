"""Screenshots of the filter language and the CLIP token counter, offscreen, on a generated folder.

    PYTHONPATH=. python scripts/filter_screenshots.py OUT_DIR

Saves filter-query.png (a query narrowing the grid), filter-error.png (a bad query: the grid
keeps its last good view), tokens-overflow.png (the caption panel past CLIP's 77 tokens) and
tokens-overflow-tooltip.png (the counter's tooltip naming the dropped words).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import make_folder, settle, wait_until  # noqa: E402

TAGS = ["1girl, solo, long hair, smile, outdoors, lake, sunset",
        "no humans, city, night, neon lights, skyscraper, rain",
        "still life, fruit, bowl, apple, table, window light",
        "forest, pine tree, fog, morning, path",
        "abstract, colorful, shapes, gradient"]
LONG = ("A quiet mountain lake at sunset: layered violet ridges fade into a peach sky, the low sun "
        "sits on the horizon and its reflection breaks into bands of light on the still water. Soft, "
        "warm light, wide landscape composition, a lone wooden pier reaches into the lake from the "
        "left, two small boats rest near the shore, pine trees frame the right edge of the picture "
        "and a thin mist hangs over the far bank.")


def main(argv: list[str] | None = None) -> int:
    out = Path((argv or sys.argv[1:])[0])
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QPoint, QSettings
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtWidgets import QToolTip

    from desktop_app.app import create_application, create_window

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="caption-studio-filter-"))
    folder = work / "Holiday photos"
    paths = make_folder(folder, 20)
    for i, path in enumerate(paths):
        text = LONG if i == 0 else TAGS[i % len(TAGS)] + ("" if i % 3 else ", masterpiece")
        path.with_suffix(".txt").write_text(text, encoding="utf-8")
    window = create_window(None, settings=QSettings(str(work / "s.ini"), QSettings.Format.IniFormat),
                           data_dir=work / "data")
    window.resize(1400, 900)
    window.show()
    window.open_folder(folder)
    wait_until(app, lambda: window.library is not None and window.model.rowCount() == len(paths))
    for path in window.model.paths():
        window.loader.request(path)
    wait_until(app, lambda: all(window.loader.pixmap(p) is not None for p in window.model.paths()), 30)

    def query(text: str) -> None:
        window.filter_edit.setText(text)
        window._apply_text_filter()
        wait_until(app, lambda: not window.filter_box.counting)
        settle(app, 0.4)

    query("tag:masterpiece OR tokens:>77 -name:*.png")
    window.grab().save(str(out / "filter-query.png"))
    query("tag:masterpiece (status:done OR stauts:edited")
    window.grab().save(str(out / "filter-error.png"))

    query("")
    window.select_paths([paths[0]])
    settle(app, 0.6)
    panel = window.caption_panel
    panel.token_counter.update_count()
    settle(app, 0.2)
    panel.grab().save(str(out / "tokens-overflow.png"))
    # The tooltip, drawn over the panel where it appears (offscreen has no real popup window).
    shot = panel.grab()
    counter = panel.token_counter
    QToolTip.showText(counter.mapToGlobal(QPoint(0, 0)), counter.toolTip(), counter)
    settle(app, 0.5)
    tip = next((w for w in app.topLevelWidgets() if w.inherits("QTipLabel") and w.isVisible()), None)
    if tip is not None:
        painter = QPainter(shot)
        top = counter.mapTo(panel, QPoint(0, 0)).y() - tip.height() - 6
        at = QPoint(max(0, panel.width() - tip.width() - 8), top)
        painter.fillRect(tip.rect().translated(at).adjusted(-1, -1, 1, 1), QColor("#000000"))
        painter.drawPixmap(at, tip.grab())
        painter.end()
    shot.save(str(out / "tokens-overflow-tooltip.png"))
    window.filter_box.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
