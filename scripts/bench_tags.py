"""Tag counting on synthetic captions: total time, and how long the GUI thread stalls meanwhile.

    PYTHONPATH=. python scripts/bench_tags.py [N]

Counts N (default 100,000) booru-style captions (10-30 tags each, every fifth with a sentence)
once in this thread, then again on the tag counter's background thread while a 10 ms timer
ticks in the GUI thread, and reports the longest gap between ticks; then times incremental
updates of single captions.
"""

from __future__ import annotations

import os
import random
import sys
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def captions(n: int) -> list[tuple[Path, str]]:
    rng = random.Random(0)
    vocab = [f"tag{i}" for i in range(3000)] + ["long hair", "1girl", "solo", "looking at viewer", "blue eyes"]
    out = []
    for i in range(n):
        text = ", ".join(rng.sample(vocab, rng.randint(10, 30)))
        if i % 5 == 0:
            text += ", A woman stands in a field, holding flowers in both hands."
        out.append((Path(f"/data/{i:06d}.png"), text))
    return out


def main() -> None:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.library.tags import count_tags
    from desktop_app.ui.editing import SerialExecutor

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    items = captions(n)
    start = time.perf_counter()
    counts = count_tags(items)
    direct = time.perf_counter() - start
    uses = sum(counts.counts.values())
    print(f"{n:,} captions, {uses:,} tag uses, {len(counts):,} distinct: counted in {direct:.2f} s "
          f"({uses / direct / 1e6:.2f} M tags/s)")

    app = QApplication([])
    executor = SerialExecutor("bench")
    clock, gaps, done = QElapsedTimer(), [], []
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    start = time.perf_counter()
    executor.submit(partial(count_tags, items), lambda result: (done.append(time.perf_counter() - start), app.quit()))
    app.exec()
    print(f"background count: {done[0]:.2f} s; GUI thread's longest gap {max(gaps)} ms "
          f"(timer every 10 ms, {len(gaps)} ticks)")

    start = time.perf_counter()
    for path, text in items[:10_000]:
        counts.set_caption(path, text + ", extra tag")
    per = (time.perf_counter() - start) / 10_000
    print(f"incremental update of one caption: {per * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
