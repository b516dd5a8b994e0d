"""The filter language and the CLIP token counter at scale: N distinct captions in the real proxy.

Measures, on N generated items (tag lists and sentences, every caption distinct):
- count_cold: CLIP token counts of every caption, cold (the BPE built, no piece cached);
- count_warm: the same texts again with a fresh text cache (pieces cached: the grid's case);
- open_clip: open_clip's own SimpleTokenizer on 2,000 of them, scaled to N (the reference);
- filter: `MediaFilterProxy.set_text_filter` for several queries (parse, compile, evaluate all
  rows, Qt's relayout of the proxy); `tokens:` and `tag:` run after the counts and tag sets
  are cached, as the filter box arranges (it fills them in a worker first).

    PYTHONPATH=. python benchmarks/filter_query.py --count 100000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TAGS = ("1girl 1boy solo long_hair short_hair smile blue_eyes red_eyes outdoors indoors sky cloud "
        "tree grass water beach city night day sunset hat glasses dress shirt skirt jacket "
        "looking_at_viewer standing sitting masterpiece best_quality highres detailed_background "
        "flower cat dog car building mountain lake river forest snow rain").split()
WORDS = ("a the photo of with on in at and under over near woman man girl boy cat dog red blue "
         "green old young small large bright dark soft warm light shadow standing sitting street "
         "room window table chair wooden stone glass golden evening morning quiet busy").split()


def captions(count: int) -> list[str]:
    rng = random.Random(5)
    out = []
    for i in range(count):
        if i % 2:
            out.append(", ".join(rng.sample(TAGS, rng.randint(6, 35))) + f", id{i}")
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(12, 80))]
            out.append(" ".join(words).capitalize() + f" (#{i}).")
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from desktop_app.library.clip_tokens import ClipTokenCounter, TokenCountCache
    from desktop_app.ui import grid_query
    from desktop_app.ui.media_model import MediaFilterProxy, MediaItem, MediaListModel

    app = QApplication.instance() or QApplication([])
    texts = captions(args.count)
    counter = ClipTokenCounter()
    start = time.perf_counter()
    counts = counter.count_many(texts)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    TokenCountCache(counter).fill(texts)
    warm = time.perf_counter() - start
    print(f"tokens: {len(texts):,} captions (mean {sum(counts) / len(counts):.0f} tokens): "
          f"cold {cold:.2f} s, warm {warm:.2f} s", flush=True)
    try:
        from open_clip.tokenizer import SimpleTokenizer

        reference = SimpleTokenizer()
        sample = texts[:2000]
        start = time.perf_counter()
        [len(reference.encode(t)) for t in sample]
        ref = (time.perf_counter() - start) * len(texts) / len(sample)
        print(f"open_clip SimpleTokenizer: ~{ref:.1f} s for {len(texts):,} (from 2,000)", flush=True)
    except ImportError:
        pass

    statuses = ("done", "edited", "pending", "failed")
    items = [MediaItem(Path(f"/data/set/img{i}.{'png' if i % 3 else 'jpg'}"), f"img{i}.{'png' if i % 3 else 'jpg'}",
                       status=statuses[i % 4] if i % 4 != 2 else "pending", caption=text)
             for i, text in enumerate(texts)]
    model = MediaListModel()
    model.set_items(items)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    grid_query.TOKEN_COUNTS.fill(texts)
    start = time.perf_counter()
    grid_query.TAG_SETS.fill(texts)
    print(f"tag sets of {len(texts):,} captions (the filter box's worker): "
          f"{time.perf_counter() - start:.2f} s", flush=True)
    for query in ("cat", "tag:1girl", 'tag:"long hair" -tag:hat', "name:*.jpg status:edited",
                  "(cat OR dog) -beach words:>20", "tokens:>77", "tokens:<=40 chars:<200", ""):
        start = time.perf_counter()
        proxy.set_text_filter(query)
        app.processEvents()
        seconds = time.perf_counter() - start
        print(f"filter {query!r:38} {proxy.rowCount():>7,} rows  {seconds:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
