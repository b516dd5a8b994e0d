"""Video: frames/s decoded (PyAV) and videos/s captioned by the engine, on generated clips.

Cases:
- decode_sampled: `sample_frames` at the request's fps (what a caption job decodes).
- decode_all: every frame of every clip (the raw decoder speed, for comparison).
- poster: `read_frame_at(duration / 2, max_side=256)` (a grid tile's poster frame).
- prepare: decode + sample + the video processor (what the prefetch pool does per video).
- engine_<runner>: `CaptionEngine` end to end on the video files, captions written to .txt.

    PYTHONPATH=. python benchmarks/video.py --videos 16 --json benchmarks/results/cpu_tiny_video.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.engine import CaptionEngine, CaptionItem, CaptionRequest, GenerationParams  # noqa: E402
from desktop_app.engine.loading import LoadOptions, load_model  # noqa: E402
from desktop_app.engine.models import resolve_model  # noqa: E402
from desktop_app.engine.prepare import InputBuilder  # noqa: E402
from desktop_app.engine.types import VideoOptions  # noqa: E402
from desktop_app.engine.video import probe_video, read_frame_at, sample_frames  # noqa: E402
from desktop_app.testing.videos import write_video  # noqa: E402


def make_videos(folder: Path, count: int, seconds: float, fps: int, size: tuple[int, int]) -> list[Path]:
    """`count` h264 mp4 clips (x264 defaults: a keyframe every 250 frames, like a phone's)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [write_video(folder / f"clip{i:04d}.mp4", seconds=seconds, fps=fps, size=size, gop=250,
                        exact=False) for i in range(count)]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def timed(name: str, count: int, unit: str, fn: Callable[[], Any]) -> dict[str, Any]:
    print(f"running {name} ...", flush=True)
    started = time.perf_counter()
    extra = fn() or {}
    seconds = time.perf_counter() - started
    row = {"case": name, unit: count, "seconds": round(seconds, 3),
           f"{unit}_per_s": round(count / seconds, 2), **extra}
    print(f"  {count / seconds:.2f} {unit}/s ({seconds:.2f} s)", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="'tiny' (built locally) or a model name/folder")
    ap.add_argument("--videos", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--source-fps", type=int, default=30)
    ap.add_argument("--size", default="640x360", help="WxH of the generated clips")
    ap.add_argument("--fps", type=float, default=2.0, help="frames sampled per second")
    ap.add_argument("--max-frames", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--runners", default="continuous,generate")
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", help="fp32 (CPU default) | bf16 | fp16 | auto")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from desktop_app.testing.tiny_model import build_tiny_model

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="caption-video-bench-"))
    size = tuple(map(int, args.size.split("x")))
    model = build_tiny_model(tmp / "tiny") if args.model == "tiny" else args.model
    loaded = load_model(resolve_model(str(model)), LoadOptions(device=args.device, dtype=args.dtype))
    print(f"generating {args.videos} clips: {args.seconds:g} s, {args.source_fps} fps, {args.size}", flush=True)
    paths = make_videos(tmp / "clips", args.videos, args.seconds, args.source_fps, size)
    info = probe_video(paths[0])
    options = VideoOptions(fps=args.fps, max_frames=args.max_frames)
    sampled = len(sample_frames(paths[0], fps=args.fps, max_frames=args.max_frames).frames)

    def each(read: Callable[[Path], Any]) -> Callable[[], None]:
        return lambda: None if [read(p) for p in paths] else None

    every = info.frame_count * len(paths)
    results = [
        timed("decode_sampled", sampled * len(paths), "frames",
              each(lambda p: sample_frames(p, fps=args.fps, max_frames=args.max_frames))),
        timed("decode_all", every, "frames",
              each(lambda p: sample_frames(p, fps=info.fps, max_frames=10**6, min_frames=1))),
        timed("poster", len(paths), "videos", each(lambda p: read_frame_at(p, info.duration / 2, max_side=256))),
    ]
    builder = InputBuilder(loaded.processor, "Describe this video.", None, 1024 * 1024, video=options)
    tokens: list[int] = []

    def prepare() -> dict[str, Any]:
        for p in paths:
            pixels = builder.pixels(p)
            tokens.append(int(builder.build(0, p, pixels, 1, (0,)).input_ids.numel()))
        return {"prompt_tokens": tokens[0], "frames_per_video": sampled}

    results.append(timed("prepare", len(paths), "videos", prepare))
    for runner in args.runners.split(","):
        run_engine(loaded, paths[:1], runner, options, args, max_new_tokens=2)  # warm-up, not timed
        results.append(timed(f"engine_{runner}", len(paths), "videos",
                             lambda: run_engine(loaded, paths, runner, options, args)))
    report = {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads",
        "model": loaded.spec.name, "dtype": str(loaded.dtype), "torch": torch.__version__,
        "videos": args.videos, "clip": {"seconds": args.seconds, "fps": args.source_fps, "size": list(size),
                                        "codec": info.codec},
        "sampling": options.as_dict(), "max_new_tokens": args.max_new_tokens, "results": results,
    }
    print(f"\n{'case':<20} {'count':>7} {'seconds':>9} {'per second':>14}")
    for r in results:
        unit = "frames" if "frames" in r and "frames_per_s" in r else "videos"
        print(f"{r['case']:<20} {r[unit]:>7} {r['seconds']:>9.2f} {r[unit + '_per_s']:>9.2f} {unit}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def run_engine(loaded: Any, paths: list[Path], runner: str, options: VideoOptions,
               args: argparse.Namespace, max_new_tokens: int | None = None) -> dict[str, Any]:
    from desktop_app.library.atomic import atomic_write_text

    engine = CaptionEngine.from_loaded(loaded, runner=runner, workers=args.workers)
    items = tuple(CaptionItem(p) for p in paths)
    request = CaptionRequest(items, prompt="Describe this video.", video=options, batch_size=args.slots,
                             params=GenerationParams(max_new_tokens=max_new_tokens or args.max_new_tokens,
                                                     ignore_eos=True))
    done = failed = 0
    for result in engine.caption(request):
        if hasattr(result, "caption"):
            atomic_write_text(result.path.with_suffix(".txt"), result.caption.strip() + "\n")
            done += 1
        else:
            failed += 1
    return {"captioned": done, "failed": failed}


if __name__ == "__main__":
    raise SystemExit(main())
