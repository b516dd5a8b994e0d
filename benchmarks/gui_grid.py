"""GUI grid: how fast a folder of N JPEGs shows thumbnails, and whether the event loop stalls.

A real QMainWindow holding the ThumbnailGrid (offscreen unless --show) gets N items at once.
Measured from `set_items`:
- first_thumb_painted: the first tile painted with its real thumbnail;
- first_screen_cached / first_screen_painted: every visible tile's thumbnail in memory / painted;
- all_cached: every file's thumbnail made and on the disk cache (requests fed in chunks);
- scroll_screen_painted: after a jump to the middle, that screen painted again (disk cache);
- open_stall: the gap between ticks of a 5 ms timer around `set_items` (the reset, the first
  layout batch and the first paint run in it);
- max_stall: the longest gap between ticks after that, until the end of the run;
- longest_gc / gc_passes_over_10ms: the garbage collector's passes (when, how long, which
  generation). The app freezes the heap once a folder has opened (`store_ops.freeze_heap`),
  as this benchmark does after `set_items`; `--no-gc-freeze` measures without it.
Runs twice: "cold" (empty disk cache) and "warm" (a new loader on the filled cache).
Targets (PERFORMANCE.md): first screen < 1 s, no stall > 50 ms.

    PYTHONPATH=. python benchmarks/gui_grid.py --count 20000 --json grid.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_images(count: int, size: tuple[int, int]) -> Path:
    """N small JPEGs (smooth colour fields with grain), cached under the temp dir between runs."""
    from PIL import Image

    folder = Path(tempfile.gettempdir()) / "caption-studio-bench" / f"grid-{count}-{size[0]}x{size[1]}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1234)
    grain = Image.effect_noise(size, 12).convert("RGB")
    started = time.perf_counter()
    for i in range(count):
        small = Image.new("RGB", (4, 3))
        small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(12)])
        image = Image.blend(small.resize(size, Image.Resampling.BILINEAR), grain, 0.15)
        image.save(folder / f"img{i}.jpg", quality=85)
        if i and i % 5000 == 0:
            print(f"  made {i} images ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    done.write_text("ok")
    return folder


class Phase:
    """Timestamps of one run, relative to `set_items`."""

    def __init__(self) -> None:
        self.t0 = 0.0
        self.marks: dict[str, float] = {}
        self.max_gap = 0.0
        self.open_gap: float | None = None
        self.gaps_over_50ms = 0
        self.last_tick = 0.0
        self.long_gaps: list[tuple[float, float]] = []  # (started at, length) over 30 ms
        self.gc_max = 0.0
        self._gc_start = 0.0
        self.gc_passes: list[tuple[float, float, int]] = []  # (started at, length, generation) > 10 ms

    def on_gc(self, stage: str, info: dict[str, int]) -> None:
        """gc.callbacks hook: the longest collection (a cause of stalls with 100k objects)."""
        now = time.perf_counter()
        if stage == "start":
            self._gc_start = now
        else:
            length = now - self._gc_start
            self.gc_max = max(self.gc_max, length)
            if length > 0.010:
                self.gc_passes.append((round(self._gc_start - self.t0, 3), round(length, 3),
                                       int(info.get("generation", -1))))

    def mark(self, name: str) -> None:
        if name not in self.marks:
            self.marks[name] = time.perf_counter() - self.t0

    def tick(self) -> None:
        now = time.perf_counter()
        gap = now - self.last_tick
        self.last_tick = now
        if self.open_gap is None:  # the turn that ran set_items, its reset and first layout
            self.open_gap = gap
        else:
            self.max_gap = max(self.max_gap, gap)
        self.gaps_over_50ms += gap > 0.050
        if gap > 0.030:
            self.long_gaps.append((round(now - self.t0 - gap, 3), round(gap, 3)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.show:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    from desktop_app.library.scan import scan_folder
    from desktop_app.ui.grid import ThumbnailGrid, TileDelegate
    from desktop_app.ui.media_model import MediaFilterProxy, MediaItem, MediaListModel
    from desktop_app.ui.store_ops import freeze_heap
    from desktop_app.ui.thumbnails import ThumbnailLoader

    app = QApplication.instance() or QApplication([])
    print(f"images: {args.count} JPEGs {args.image_size[0]}x{args.image_size[1]}", file=sys.stderr)
    folder = make_images(args.count, tuple(args.image_size))
    paths = scan_folder(folder)
    items_template = [(p, p.name) for p in paths]
    cache_dir = Path(tempfile.mkdtemp(prefix="caption-studio-bench-thumbs-"))

    window = QMainWindow()
    grid = ThumbnailGrid()
    window.setCentralWidget(grid)
    window.resize(*args.window)
    window.show()

    phase = Phase()
    painted: set[int] = set()
    placeholder_keys: set[int] = set()

    class TimingDelegate(TileDelegate):
        """Notes the first paint of each row with a real thumbnail."""

        _row = -1

        def paint(self, painter, option, index):  # noqa: ANN001, ANN201
            self._row = index.row()
            super().paint(painter, option, index)

        def _paint_pixmap(self, painter, box, pixmap):  # noqa: ANN001, ANN201
            if pixmap.cacheKey() not in placeholder_keys:
                painted.add(self._row)
                phase.mark("first_thumb_painted")
            super()._paint_pixmap(painter, box, pixmap)

    grid.setItemDelegate(TimingDelegate(grid, grid.tile_size()))

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(5)
    ticker.timeout.connect(phase.tick)

    def run_until(predicate: Callable[[], bool], timeout: float) -> bool:
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(2)
        check.timeout.connect(lambda: predicate() and loop.quit())
        check.start()
        QTimer.singleShot(int(timeout * 1000), loop.quit)
        if not predicate():
            loop.exec()
        check.stop()
        return predicate()

    def visible_rows(proxy: MediaFilterProxy, around: int) -> list[int]:
        area = grid.viewport().rect()
        rows = []
        for row in range(max(0, around - 400), min(proxy.rowCount(), around + 400)):
            if grid.visualRect(proxy.index(row, 0)).intersects(area):
                rows.append(row)
        return rows

    # The app has painted its window before a folder opens: warm fonts and glyph caches with
    # a few tiles (not timed).
    warm_model = MediaListModel()
    warm_model.set_items([MediaItem(Path(f"/warm-up/{s}{i}.jpg"), f"{s}{i}.jpg", status=s,
                                    caption="warm up " * 20, live_text="warm up " * 20)
                          for i, s in enumerate(("pending", "queued", "generating", "done",
                                                 "edited", "failed") * 5)])
    grid.setModel(warm_model)
    run_until(lambda: False, 0.3)
    grid.viewport().repaint()

    results: dict[str, Any] = {}
    for name in ("cold", "warm"):
        loader = ThumbnailLoader(cache_dir=cache_dir, max_pending=None)
        placeholder_keys.clear()
        placeholder_keys.update({loader.placeholder_pixmap().cacheKey(),
                                 loader.broken_pixmap().cacheKey()})
        model = MediaListModel(loader)
        proxy = MediaFilterProxy()
        proxy.setSourceModel(model)
        grid.setModel(proxy)
        painted.clear()
        ready: set[str] = set()
        loader.thumbnail_ready.connect(ready.add)
        # Fresh Path objects, as a new scan gives (their str() is computed in set_items).
        items = [MediaItem(path=Path(os.fspath(p)), rel=rel) for p, rel in items_template]
        run_until(lambda: False, 0.2)  # settle

        phase.__init__()
        gc.callbacks.append(phase.on_gc)
        phase.t0 = phase.last_tick = time.perf_counter()
        ticker.start()
        model.set_items(items)
        if not args.no_gc_freeze:
            freeze_heap()  # as the window does once a folder has opened
        phase.mark("set_items_returned")
        run_until(lambda: grid.visualRect(proxy.index(0, 0)).isValid() and bool(painted) or False,
                  args.timeout)
        screen = visible_rows(proxy, 0)
        phase.last_tick = time.perf_counter()
        keys = [str(paths[r]) for r in screen]
        run_until(lambda: all(loader.pixmap(k) is not None for k in keys), args.timeout)
        phase.mark("first_screen_cached")
        run_until(lambda: all(r in painted for r in screen), args.timeout)
        phase.mark("first_screen_painted")

        if name == "cold" or args.warm_all:
            # Every file: requests fed in chunks, as scrolling through the folder would.
            pending = list(paths)
            feeder = QTimer()
            feeder.setInterval(5)

            def feed() -> None:
                for _ in range(min(args.chunk, len(pending))):
                    loader.request(pending.pop())
                if not pending:
                    feeder.stop()

            feeder.timeout.connect(feed)
            feeder.start()
            ok = run_until(lambda: len(ready) >= len(paths), args.timeout)
            feeder.stop()
            phase.mark("all_cached" if ok else "all_cached_timeout")

        # Jump to the middle: that screen comes from the disk cache (memory holds 2000).
        painted.clear()
        middle_start = time.perf_counter()
        grid.scrollTo(proxy.index(len(paths) // 2, 0))
        middle = visible_rows(proxy, len(paths) // 2)
        phase.last_tick = time.perf_counter()  # visible_rows is the benchmark's own work
        run_until(lambda: all(r in painted for r in middle), args.timeout)
        scroll_time = time.perf_counter() - middle_start
        ticker.stop()
        gc.callbacks.remove(phase.on_gc)

        marks = dict(phase.marks)
        marks["scroll_screen_painted"] = scroll_time
        results[name] = {
            **{k: round(v, 4) for k, v in marks.items()},
            "visible_tiles": len(screen),
            "open_stall_s": round(phase.open_gap or 0.0, 4),
            "max_stall_s": round(phase.max_gap, 4),
            "stalls_over_50ms": phase.gaps_over_50ms,
            "longest_gc_s": round(phase.gc_max, 4),
            "thumbnails_made": len(ready),
            "gaps_over_30ms": phase.long_gaps[:50],
            "gc_passes_over_10ms": phase.gc_passes[:50],
        }
        loader.shutdown()
        grid.setModel(None)
        model.deleteLater()
        loader.deleteLater()
        run_until(lambda: False, 0.1)

    window.close()
    if not args.keep_cache:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return {
        "benchmark": "gui_grid",
        "count": args.count,
        "image_size": list(args.image_size),
        "window": list(args.window),
        "threads": max(1, (os.cpu_count() or 2) - 1),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "qpa": os.environ.get("QT_QPA_PLATFORM", ""),
        "gc_freeze": not args.no_gc_freeze,
        "gc_threshold": list(gc.get_threshold()),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "targets": {"first_screen_painted_s": 1.0, "max_stall_s": 0.050},
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    rows = [("set_items returned", "set_items_returned"),
            ("first thumbnail painted", "first_thumb_painted"),
            ("first screen cached", "first_screen_cached"),
            ("first screen painted", "first_screen_painted"),
            ("all thumbnails cached", "all_cached"),
            ("middle screen painted", "scroll_screen_painted"),
            ("stall opening the folder", "open_stall_s"),
            ("longest stall after that", "max_stall_s"),
            ("stalls over 50 ms", "stalls_over_50ms"),
            ("longest gc collection", "longest_gc_s"),
            ("visible tiles", "visible_tiles")]
    runs = report["results"]
    print(f"\nGUI grid, {report['count']} JPEGs {report['image_size'][0]}x{report['image_size'][1]}, "
          f"{report['threads']} worker thread(s), {report['qpa'] or 'native'} platform")
    print(f"{'measure':28s}" + "".join(f"{name:>12s}" for name in runs))
    for label, key in rows:
        cells = []
        for run_ in runs.values():
            value = run_.get(key)
            if value is None and key + "_timeout" in run_:
                cells.append(f"{'timeout':>12s}")
            elif value is None:
                cells.append(f"{'-':>12s}")
            elif isinstance(value, float):
                cells.append(f"{value * 1000:>10.0f}ms")
            else:
                cells.append(f"{value:>12}")
        print(f"{label:28s}" + "".join(cells))
    cold = runs.get("cold", {})
    ok_first = cold.get("first_screen_painted", 99) < 1.0
    ok_stall = max(r["max_stall_s"] for r in runs.values()) <= 0.050
    ok_open = max(r["open_stall_s"] for r in runs.values()) <= 0.050
    print(f"targets: first screen < 1 s: {'met' if ok_first else 'MISSED'}; "
          f"no stall > 50 ms while thumbnailing: {'met' if ok_stall else 'MISSED'}; "
          f"opening the folder within 50 ms: {'met' if ok_open else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", "-n", type=int, default=20_000)
    parser.add_argument("--image-size", type=int, nargs=2, default=(480, 360), metavar=("W", "H"))
    parser.add_argument("--window", type=int, nargs=2, default=(1280, 800), metavar=("W", "H"))
    parser.add_argument("--chunk", type=int, default=64, help="requests fed per 5 ms (all phase)")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--warm-all", action="store_true", help="also time 'all' on the warm run")
    parser.add_argument("--keep-cache", action="store_true")
    parser.add_argument("--show", action="store_true", help="a real window, not offscreen")
    parser.add_argument("--no-gc-freeze", action="store_true",
                        help="do not freeze the heap after set_items (the window before issue 20)")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    report = run(args)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
