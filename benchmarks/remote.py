"""Remote throughput: `caption-studio serve` on loopback through `RemoteEngine`, against the local
engine on the same images (tiny random-weight model by default, CPU fp32).

    PYTHONPATH=. python benchmarks/remote.py --images 32 --concurrency 1,8 [--json out.json]

The server runs as a separate process (`python -m desktop_app serve`) bound to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import make_images  # noqa: E402
from desktop_app.engine import CaptionEngine, CaptionRequest, ImageCaptioned, LoadOptions  # noqa: E402
from desktop_app.engine.remote import RemoteEngine  # noqa: E402

PROMPT = "Describe this image in detail."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int, device: str, dtype: str, batch_size: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "desktop_app", "serve", "--model", model, "--host", "127.0.0.1",
           "--port", str(port), "--device", device, "--dtype", dtype, "--runner", "continuous",
           "--batch-size", str(batch_size), "--log-level", "warning", "--offline"]
    env = dict(os.environ, CAPTION_STUDIO_API_KEY="", HF_HUB_OFFLINE="1")
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


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
           "images_per_s": round(len(ok) / seconds, 2), "tokens": tokens}
    print(f"{name:>14}: {row['images']} images in {seconds:.2f} s = {row['images_per_s']:.2f} img/s"
          f" ({row['failed']} failed)", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", help="'tiny' (built locally) or a model name/folder")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--concurrency", default="1,8", help="comma-separated levels to measure")
    ap.add_argument("--batch-size", type=int, default=8, help="server and local engine batch size")
    ap.add_argument("--image-size", default="256x192")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

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

    rows = []
    local = CaptionEngine(model, LoadOptions(device=args.device, dtype=args.dtype), runner="continuous")
    local.warmup()
    timed("warm-up", local, request)
    rows.append(timed("local", local, request))
    local.unload()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(model, port, args.device, args.dtype, args.batch_size)
    try:
        wait_ready(url, proc)
        for level in (int(c) for c in args.concurrency.split(",")):
            remote = RemoteEngine([url], concurrency=level)
            remote.load()
            rows.append(timed(f"remote c={level}", remote, request))
    finally:
        proc.terminate()
        proc.wait(30)
    out = {"device": args.device, "dtype": args.dtype, "model": args.model, "cpu": platform.processor()
           or platform.machine(), "cpus": os.cpu_count(), "max_new_tokens": args.max_new_tokens,
           "results": rows}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
