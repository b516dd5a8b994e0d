"""Where the engine's time goes on a GPU: prefill vs decode, decode-step variants, CPU preparation.

    PYTHONPATH=. python benchmarks/profile_gpu.py --size 2B --json out.json

Random weights of the true size (no download), synthetic 768x1024 JPEGs. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import throughput as T  # noqa: E402

from desktop_app.engine import continuous  # noqa: E402
from desktop_app.engine.continuous import ContinuousRunner  # noqa: E402
from desktop_app.engine.images import prefetch  # noqa: E402
from desktop_app.engine.patches import use_linear_patch_embed  # noqa: E402
from desktop_app.engine.prepare import InputBuilder  # noqa: E402
from desktop_app.engine.runner import DecodeSettings  # noqa: E402

ROWS: list[tuple[str, str]] = []


def row(name: str, value: str) -> None:
    ROWS.append((name, value))
    print(f"{name:<52} {value}", flush=True)


def prepare(loaded, paths, workers: int, new_tokens: int):
    builder = InputBuilder(loaded.processor, T.PROMPT, None, 768 * 1024)
    started = time.perf_counter()
    out = [builder.build(k, p, px, new_tokens, (0,))
           for k, (p, px) in enumerate(prefetch(paths, builder.pixels, workers=workers, ahead=64))]
    return out, time.perf_counter() - started


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run(runner, inputs, settings) -> float:
    sync()
    started = time.perf_counter()
    for _ in runner.run(iter(inputs), settings, threading.Event(), lambda rows: None):
        pass
    sync()
    return time.perf_counter() - started


def step_ms(runner: ContinuousRunner, settings, steps: int = 40) -> float:
    runner.warmup(settings=settings)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    runner._graph.replay()
    start.record()
    for _ in range(steps):
        runner._graph.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / steps


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="2B")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--dry", action="store_true", help="tiny model on the CPU: checks the script runs")
    args = ap.parse_args()
    from desktop_app.engine.loading import LoadOptions, load_model
    from desktop_app.engine.models import resolve_model
    from desktop_app.testing.tiny_model import build_tiny_model

    tmp = Path(tempfile.mkdtemp())
    tiny = build_tiny_model(tmp / "tiny")
    if args.dry:
        loaded = load_model(resolve_model(str(tiny)), LoadOptions(device="cpu"))
    else:
        loaded = T.random_weight_model(args.size, torch.device("cuda"), tiny)
    paths = T.make_images(tmp / "img", args.images, (768, 1024), 0)
    for workers in (4, 8, 14):
        inputs, seconds = prepare(loaded, paths, workers, 1)
        row(f"CPU preparation, {workers} workers", f"{len(paths) / seconds:.1f} images/s")
    settings = DecodeSettings(frozenset(), ignore_eos=True)
    for linear in (False, True):
        use_linear_patch_embed(loaded.model, linear)
        for batch in (8, 16):
            runner = ContinuousRunner(loaded.model, slots=64, prefill_batch=batch, refill_at=batch)
            run(runner, inputs[:batch], settings)
            seconds = run(runner, inputs, settings)
            row(f"prefill only, batch {batch}, patch embed {'linear' if linear else 'conv3d'}",
                f"{len(inputs) / seconds:.1f} images/s")
    for attention in () if args.dry else ("sdpa", "matmul"):
        continuous.DECODE_ATTENTION = attention
        for slots, max_len in ((64, 1088), (128, 1088), (64, 256)):
            ms = step_ms(ContinuousRunner(loaded.model, slots=slots, max_len=max_len), settings)
            row(f"decode step ({attention}), {slots} slots x {max_len}", f"{ms:.2f} ms")
    continuous.DECODE_ATTENTION = "sdpa"
    if args.dry:
        return 0
    runner = ContinuousRunner(loaded.model, slots=16, cuda_graph=False)
    small = [inp for inp in inputs[:16]]
    for inp in small:
        inp.max_new_tokens = 24
    run(runner, small, settings)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        run(runner, small, settings)
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=60))
    if args.json:
        args.json.write_text(json.dumps(dict(ROWS), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
