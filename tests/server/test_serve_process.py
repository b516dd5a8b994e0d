"""`serve` as a real process (the tiny model, a free loopback port): it stops promptly on
SIGTERM while streams are open, and refuses a huge body without holding it in memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from tests.server.test_serve import free_port, messages, png_bytes  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")
START_S = 120  # loading torch and the tiny model on a busy 2-core machine


@pytest.fixture()
def serve(tiny_model_dir: Path, tmp_path: Path) -> Iterator[Any]:
    """Start `serve` with extra flags; yields (process, base URL); always ends the process."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TMPDIR=str(tmp_path))
        proc = subprocess.Popen(
            [sys.executable, "-m", "desktop_app", "serve", "--model", str(tiny_model_dir),
             "--device", "cpu", "--dtype", "fp32", "--host", "127.0.0.1", "--port", str(port),
             "--no-warmup", "--log-level", "warning", "--threads", "1", *flags],
            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.log", "wb"))
        procs.append(proc)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_sigterm_stops_the_server_while_streams_are_open(serve: Any, tmp_path: Path) -> None:
    # One slot: three long captions run one after another (about 6 s each on a 2-core CPU),
    # so a server that waited for its streams would take far longer than the bound.
    proc, url = serve("--batch-size", "1", "--max-tokens-cap", "4000")
    first_text = threading.Event()
    seen: list[dict[str, Any]] = [{"lines": []} for _ in range(3)]

    def stream(i: int) -> None:
        body = {"messages": messages(png_bytes(20 + i)), "max_tokens": 4000, "stream": True}
        try:
            with httpx.stream("POST", url + "/chat/completions", json=body, timeout=60) as r:
                seen[i]["status"] = r.status_code
                for line in r.iter_lines():
                    seen[i]["lines"].append(line)
                    if '"content": "' in line and '"content": ""' not in line:
                        seen[i]["text"] = True
                        first_text.set()
        except httpx.HTTPError as exc:
            seen[i]["error"] = repr(exc)

    clients = [threading.Thread(target=stream, args=(i,), daemon=True) for i in range(3)]
    for t in clients:
        t.start()
    assert first_text.wait(60), "no caption text came"
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        code = proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("serve was still running 10 s after SIGTERM")
    took = time.monotonic() - sent
    for t in clients:
        t.join(10)
    assert code == 0, (code, (tmp_path / "serve.log").read_text(errors="replace")[-2000:])
    for one in seen:  # each request was ended, and told why: none ran to its end
        lines = [line for line in one["lines"] if line]
        assert "error" not in one and lines, one
        if one.get("text"):  # streaming when the signal came: an error chunk, then [DONE]
            assert one["status"] == 200 and lines[-1] == "data: [DONE]", lines[-3:]
            assert "shutting_down" in lines[-2] and "finish_reason\": \"length" not in " ".join(lines)
        else:  # still waiting for its first token: a 503
            assert one["status"] == 503 and "shutting_down" in lines[0], one
    assert sum(bool(one.get("text")) for one in seen) >= 1
    assert not any(p.name.startswith("caption-studio-serve-") for p in tmp_path.iterdir()), \
        "the request store was removed"
    print(f"exited {took:.2f} s after SIGTERM")


def test_a_huge_body_is_refused_without_holding_it(serve: Any) -> None:
    proc, url = serve("--max-body-mb", "64")
    ok = httpx.post(url + "/chat/completions", timeout=60,
                    json={"messages": messages(png_bytes(3)), "max_tokens": 2})
    assert ok.status_code == 200, ok.text
    before = rss_mb(proc.pid)
    size = 100 * 2**20

    def chunks() -> Iterator[bytes]:  # 100 MB of base64-like text, chunked (no Content-Length)
        head = json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url",
                           "image_url": {"url": "data:image/png;base64,"}}]}]})
        cut = head.index("base64,") + len("base64,")
        yield head[:cut].encode()
        block = b"QUFB" * 2**18  # 1 MiB
        for _ in range(size // len(block)):
            yield block
        yield head[cut:].encode()

    started = time.monotonic()
    refused = httpx.post(url + "/chat/completions", content=chunks(), timeout=60,
                         headers={"content-type": "application/json"})
    chunked_s = time.monotonic() - started
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "request_too_large"
    declared = httpx.post(url + "/chat/completions", content=b"{" + b" " * size + b"}", timeout=60,
                          headers={"content-type": "application/json"})
    assert declared.status_code == 413
    after = rss_mb(proc.pid)
    print(f"server RSS {before:.0f} MB -> {after:.0f} MB around two 100 MB bodies "
          f"(chunked one refused in {chunked_s:.2f} s)")
    assert after - before < 40, (before, after)
    again = httpx.post(url + "/chat/completions", timeout=60,
                       json={"messages": messages(png_bytes(4)), "max_tokens": 2})
    assert again.status_code == 200
