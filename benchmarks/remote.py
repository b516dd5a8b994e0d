"""Remote throughput: `caption-studio serve` on loopback through `RemoteEngine`, against the local
engine on the same images (tiny random-weight model by default, CPU fp32).

    PYTHONPATH=. python benchmarks/remote.py --images 32 --concurrency 1,8 [--json out.json]
        [--baseline-root DIR]

The server runs as a separate process (`python -m desktop_app serve`) bound to 127.0.0.1.
`--baseline-root DIR` also measures the server of another checkout (e.g. the commit before a
change: `git worktree add DIR COMMIT`), started the way that checkout's benchmark started it,
in the same run, so the two figures share the machine's load. Rounds alternate the local engine
with every server and level (`--rounds`), and each remote row is compared with the local rows
measured just before and after it: the ratio, not the absolute figure, is the result. Each remote row reports the
server's engine jobs and rows per decode step (from `/v1/stats`; a round-based baseline
reports its mean batch instead) and milliseconds per token.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import make_images, output_lengths  # noqa: E402
from desktop_app.engine import (CaptionEngine, CaptionItem, CaptionRequest, ImageCaptioned,  # noqa: E402
                                LoadOptions)
from desktop_app.engine.remote import RemoteEngine  # noqa: E402

PROMPT = "Describe this image in detail."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int, device: str, dtype: str, batch_size: int,
                 root: Path = ROOT, extra: list[str] | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "desktop_app", "serve", "--model", model, "--host", "127.0.0.1",
           "--port", str(port), "--device", device, "--dtype", dtype, "--runner", "continuous",
           "--batch-size", str(batch_size), "--log-level", "warning", "--offline", *(extra or [])]
    # The checkout first, then what the caller had on the path (wheels carried to a GPU machine).
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, CAPTION_STUDIO_API_KEY="", HF_HUB_OFFLINE="1", PYTHONPATH=path)
    return subprocess.Popen(cmd, cwd=root, env=env)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def timed(name: str, engine: Any, request: CaptionRequest) -> dict[str, Any]:
    started = time.perf_counter()
    results = list(engine.caption(request, cancel=threading.Event()))
    seconds = time.perf_counter() - started
    ok = [r for r in results if isinstance(r, ImageCaptioned)]
    tokens = sum(r.tokens for r in ok)
    row = {"method": name, "images": len(ok), "failed": len(results) - len(ok), "seconds": round(seconds, 3),
           "images_per_s": round(len(ok) / seconds, 2), "tokens": tokens,
           "ms_per_token": round(1000 * seconds / max(1, tokens), 3)}
    print(f"{name:>22}: {row['images']} images in {seconds:.2f} s = {row['images_per_s']:.2f} img/s, "
          f"{row['ms_per_token']:.3f} ms/token ({row['failed']} failed)", flush=True)
    return row


def server_stats(url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(url + "/v1/stats", timeout=10).json()


def step_counts(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Engine jobs run and the mean rows a decode step carried, between two /v1/stats readings
    (the live engine's counters, or a round-based server's batch sizes for a baseline)."""
    if "batch_sizes" in after:  # a checkout from before the live engine
        sizes = after["batch_sizes"][len(before["batch_sizes"]):]
        return {"engine_jobs": len(sizes), "rows_per_step": None,
                "mean_batch": round(sum(sizes) / max(1, len(sizes)), 2)}
    steps = after["runner"]["decode_steps"] - before.get("runner", {}).get("decode_steps", 0)
    tokens = after["runner"]["tokens"] - before.get("runner", {}).get("tokens", 0)
    return {"engine_jobs": after["jobs_submitted"] - before.get("jobs_submitted", 0),
            "rows_per_step": round(tokens / max(1, steps), 2)}


def remote_rows(label: str, url: str, levels: list[int], request: CaptionRequest) -> list[dict[str, Any]]:
    rows = []
    for level in levels:
        remote = RemoteEngine([url], concurrency=level)
        remote.load()
        before = server_stats(url)
        row = timed(f"{label} c={level}", remote, request)
        after = server_stats(url)
        row.update(step_counts(before, after))
        print(f"{'':>24}{row['engine_jobs']} engine jobs, {row['rows_per_step']} rows a decode step",
              flush=True)
        rows.append(row)
    return rows


def start_serving(label: str, model: str, args: argparse.Namespace, request: CaptionRequest,
                  root: Path, extra: list[str]) -> tuple[str, str, subprocess.Popen]:
    """A server of `root`'s checkout, ready and warmed up: (label, url, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(model, port, args.device, args.dtype, args.batch_size, root, extra)
    wait_ready(url, proc)
    levels = [int(c) for c in args.concurrency.split(",")]
    timed(f"{label} warm-up", RemoteEngine([url], concurrency=max(levels)), request)
    return label, url, proc


def with_local_ratios(rows: list[dict[str, Any]]) -> None:
    """Each remote row's images/s over the mean of the local rows measured just before and just
    after it (the machine's load drifts; rounds alternate local and remote)."""
    for i, row in enumerate(rows):
        if row["method"] == "local":
            continue
        before = next(r for r in reversed(rows[:i]) if r["method"] == "local")
        after = next((r for r in rows[i + 1:] if r["method"] == "local"), before)
        local = (before["images_per_s"] + after["images_per_s"]) / 2
        row["vs_local"] = round(row["images_per_s"] / local, 3) if local else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="'tiny' (built locally) or a model name/folder")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--lengths", default=None,
                    help="MIN-MAX: per-image token limits drawn from a seeded uniform range instead "
                         "(captions of different lengths, as real ones are; --max-new-tokens is then MAX)")
    ap.add_argument("--concurrency", default="1,8", help="comma-separated levels to measure")
    ap.add_argument("--batch-size", type=int, default=8, help="server and local engine batch size")
    ap.add_argument("--image-size", default="256x192")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads of the local engine and of this checkout's server "
                         "(default 1 on the CPU, torch's default on GPUs)")
    ap.add_argument("--baseline-root", type=Path, default=None,
                    help="also measure the server of this checkout (started as its benchmark did)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of local then every server and level (ratios use the local rows "
                         "around each remote row)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    if args.threads is None and args.device == "cpu":
        args.threads = 1
    if args.threads:
        torch.set_num_threads(args.threads)

    tmp = Path(tempfile.mkdtemp(prefix="caption-studio-remote-bench-"))
    model = args.model
    if model == "tiny":
        from desktop_app.testing.tiny_model import build_tiny_model

        model = str(tmp / "tiny")
        build_tiny_model(Path(model))
    w, h = (int(v) for v in args.image_size.split("x"))
    paths = make_images(tmp / "images", args.images, (w, h), seed=0)
    request = CaptionRequest.for_paths(paths, prompt=PROMPT, batch_size=args.batch_size).with_params(
        max_new_tokens=args.max_new_tokens)
    if args.lengths:
        low, high = (int(v) for v in args.lengths.split("-"))
        limits = output_lengths(len(paths), 0, low, high)
        request = CaptionRequest(items=tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(paths, limits)),
                                 prompt=PROMPT, batch_size=args.batch_size).with_params(max_new_tokens=high)

    local = CaptionEngine(model, LoadOptions(device=args.device, dtype=args.dtype), runner="continuous")
    local.warmup()
    timed("warm-up", local, request)
    servers = []
    try:
        if args.baseline_root:
            servers.append(start_serving("baseline", model, args, request, args.baseline_root.resolve(), []))
        servers.append(start_serving("remote", model, args, request, ROOT,
                                     ["--threads", str(args.threads)] if args.threads else []))
        levels = [int(c) for c in args.concurrency.split(",")]
        rows = []
        for _ in range(args.rounds):  # local, then every server and level, again and again
            rows.append(timed("local", local, request))
            for label, url, _proc in servers:
                rows += remote_rows(label, url, levels, request)
        rows.append(timed("local", local, request))
    finally:
        for _label, _url, proc in servers:
            proc.terminate()
            proc.wait(30)
        local.unload()
    with_local_ratios(rows)
    print(f"\n{'method':>22} {'img/s':>8} {'x local':>8} {'jobs':>6} {'rows/step':>10}")
    for row in rows:
        rps = row.get("rows_per_step") or row.get("mean_batch") or ""
        ratio = f"{row['vs_local']:.3f}" if row.get("vs_local") else ""
        print(f"{row['method']:>22} {row['images_per_s']:>8.2f} {ratio:>8} "
              f"{row.get('engine_jobs', ''):>6} {rps:>10}")
    summary: dict[str, list[float]] = {}
    for row in rows:
        if row.get("vs_local"):
            summary.setdefault(row["method"], []).append(row["vs_local"])
    for method, ratios in summary.items():
        print(f"{method:>22}: x local median {statistics.median(ratios):.3f} over {len(ratios)} rounds")
    out = {"device": args.device, "dtype": args.dtype, "model": args.model, "cpu": platform.processor()
           or platform.machine(), "cpus": os.cpu_count(), "max_new_tokens": args.max_new_tokens,
           "lengths": args.lengths,
           "threads": args.threads, "baseline_root": str(args.baseline_root or ""),
           "load_average": os.getloadavg(), "results": rows,
           "median_vs_local": {m: statistics.median(r) for m, r in summary.items()}}
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
