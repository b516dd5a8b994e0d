"""The server's hot path: coalesced streaming, every request a job of the live engine sharing
its slots, failures and disconnects staying with their own request (loopback only, tiny model,
fp32 CPU). No assertion here depends on how fast the machine is: order of events, not time."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")

from desktop_app.engine import CaptionEngine, LoadOptions  # noqa: E402
from desktop_app.server.app import (EXIT_USAGE, LoopWaker, RequestEvents, create_app,  # noqa: E402
                                    serve_main)
from desktop_app.server.bridge import EngineBridge, ImageStore, Job  # noqa: E402
from tests.server.test_serve import free_port, messages, png_bytes  # noqa: E402

CPU = LoadOptions(device="cpu", dtype="fp32")


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> CaptionEngine:
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner="continuous", workers=2)
    engine.load()
    return engine


@contextmanager
def serving(engine: CaptionEngine, interval_s: float = 0.02,
            batch_size: int = 4) -> Iterator[dict[str, Any]]:
    bridge = EngineBridge(engine, batch_size=batch_size)
    store = ImageStore()
    app = create_app(engine, bridge, store, stream_interval_s=interval_s, model_name="any")  # the name the tests ask for
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    bridge.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield {"url": f"http://127.0.0.1:{port}/v1", "bridge": bridge, "store": store}
    finally:
        server.should_exit = True
        thread.join(10)
        bridge.stop()
        store.close()


def client(s: dict[str, Any]) -> Any:
    return openai.OpenAI(base_url=s["url"], api_key="none", max_retries=0, timeout=60)


def caption(s: dict[str, Any], image: bytes, max_tokens: int = 12, **kw: Any) -> str:
    out = client(s).chat.completions.create(model="any", messages=messages(image), max_tokens=max_tokens,
                                            temperature=kw.pop("temperature", 0), **kw)
    return out.choices[0].message.content


def raw_stream(s: dict[str, Any], image: bytes, max_tokens: int, n: int = 1) -> list[str]:
    body = {"model": "any", "messages": messages(image), "max_tokens": max_tokens, "temperature": 0,
            "stream": True, "n": n, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", s["url"] + "/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return [line for line in r.iter_lines() if line]


def test_coalesced_stream_is_valid_and_exact(engine: CaptionEngine) -> None:
    image = png_bytes(21, (72, 56))
    with serving(engine, interval_s=5.0) as s:  # everything after the first delta is held
        whole = client(s).chat.completions.create(model="any", messages=messages(image), max_tokens=24,
                                                  temperature=0)
        lines = raw_stream(s, image, 24)
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" and c["model"] for c in chunks)
    texts = [ch["delta"]["content"] for c in chunks for ch in c["choices"] if ch["delta"].get("content")]
    assert "".join(texts) == whole.choices[0].message.content
    tokens = whole.usage.completion_tokens
    assert tokens > 2 and len(texts) <= 2, "the text after the first delta comes merged, with the end"
    finals = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]]
    assert finals == [whole.choices[0].finish_reason]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == tokens


def test_stream_without_holding_back_matches_the_plain_answer(engine: CaptionEngine) -> None:
    image = png_bytes(22)
    with serving(engine, interval_s=0.0) as s:
        plain = client(s).chat.completions.create(model="any", messages=messages(image), max_tokens=16,
                                                  n=2, temperature=0.9, seed=5)
        stream = client(s).chat.completions.create(model="any", messages=messages(image), max_tokens=16,
                                                   n=2, temperature=0.9, seed=5, stream=True)
        parts: dict[int, list[str]] = {0: [], 1: []}
        for chunk in stream:
            for ch in chunk.choices:
                if ch.delta.content:
                    parts[ch.index].append(ch.delta.content)
    assert ["".join(parts[i]) for i in (0, 1)] == [c.message.content for c in plain.choices]


def test_short_requests_share_the_slots_with_a_long_one_and_do_not_wait_for_it(engine: CaptionEngine) -> None:
    """No rounds: requests that come while a long caption decodes join its steps at once and end
    before it; each seed still picks its own caption, whatever shared the steps."""
    images = [png_bytes(30 + i, (48 + 8 * i, 40)) for i in range(4)]
    with serving(engine) as s:
        def sampled(i: int) -> str:
            return caption(s, images[i], temperature=0.9, seed=100 + i)

        alone = [sampled(i) for i in range(4)]
        runner = engine.runner
        runner.stats.extra["max_rows_in_step"] = 0.0
        order: list[str] = []
        started = threading.Event()

        def long() -> None:
            body = {"model": "any", "messages": messages(png_bytes(39)), "max_tokens": 2000,
                    "stream": True, "temperature": 0}
            with httpx.stream("POST", s["url"] + "/chat/completions", json=body, timeout=120) as r:
                for line in r.iter_lines():
                    started.set()
                    if line == "data: [DONE]":
                        order.append("long")

        with ThreadPoolExecutor(5) as pool:
            slow = pool.submit(long)
            assert started.wait(60)
            shorts = [pool.submit(sampled, i) for i in range(4)]
            together = [f.result() for f in shorts]
            order.append("shorts")
            slow.result()
        assert order == ["shorts", "long"]
        assert together == alone
        assert runner.stats.extra["max_rows_in_step"] >= 2  # rows of different requests, one step
        same_image = [caption(s, images[0], temperature=0.9, seed=seed) for seed in (1, 2, 3, 4)]
        assert len(set(same_image)) > 1, "the seed, not only the image, picks the sample"
        assert caption(s, images[0], temperature=0.9, seed=2) == same_image[1]
        stats = httpx.get(s["url"] + "/stats").json()
        assert stats["requests"] >= 14 and stats["completed"] >= 14 and stats["slots"] == 4
        assert stats["runner"]["decode_steps"] > 0 and stats["jobs_running"] == 0


def test_a_failed_image_fails_only_its_request(engine: CaptionEngine) -> None:
    good = [png_bytes(50 + i) for i in range(3)]
    with serving(engine) as s:
        alone = [caption(s, image) for image in good]

        def one(image: bytes) -> str | Exception:
            try:
                return caption(s, image)
            except openai.BadRequestError as exc:
                return exc

        with ThreadPoolExecutor(4) as pool:
            out = list(pool.map(one, [good[0], b"\x89PNG\r\n\x1a\nbroken", good[1], good[2]]))
        assert isinstance(out[1], openai.BadRequestError) and "cannot caption the image" in str(out[1])
        assert [out[0], out[2], out[3]] == alone


def test_a_client_that_goes_away_does_not_break_the_others(engine: CaptionEngine) -> None:
    images = [png_bytes(60 + i) for i in range(3)]
    with serving(engine) as s:
        alone = [caption(s, image, max_tokens=32) for image in images]
        started = threading.Event()

        def leave() -> None:  # reads the first chunks of a long caption, then hangs up
            body = {"model": "any", "messages": messages(png_bytes(69)), "max_tokens": 200,
                    "stream": True}
            with httpx.stream("POST", s["url"] + "/chat/completions", json=body, timeout=60) as r:
                for _ in r.iter_lines():
                    started.set()
                    break

        with ThreadPoolExecutor(4) as pool:
            gone = pool.submit(leave)
            others = [pool.submit(caption, s, image, 32) for image in images]
            gone.result()
            assert started.is_set()
            assert [f.result() for f in others] == alone
        assert caption(s, images[0], max_tokens=32) == alone[0]  # the server still works
        deadline = time.monotonic() + 20
        while s["bridge"].stats.cancelled < 1 or engine.live.stats()["slots_busy"]:
            assert time.monotonic() < deadline, "the hung-up request kept decoding"
            time.sleep(0.05)
        while any(s["store"].root.iterdir()):  # every request's files are released
            assert time.monotonic() < deadline, list(s["store"].root.iterdir())
            time.sleep(0.05)


def test_request_events_cross_threads_in_order() -> None:
    async def main() -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        waker = LoopWaker(loop)
        queues = [RequestEvents(waker) for _ in range(3)]

        def produce() -> None:
            for i in range(2000):
                for q in queues:
                    q.put(("delta", 0, str(i), False))
            for q in queues:
                q.put(("done", None))

        thread = threading.Thread(target=produce)
        thread.start()
        got: list[list[tuple[Any, ...]]] = [[] for _ in queues]
        for q, out in zip(queues, got):
            while not out or out[-1][0] != "done":
                out.extend(await asyncio.wait_for(q.get(hold_s=0.005 if len(out) % 2 else None), 10))
        thread.join()
        assert await queues[0].get(hold_s=0.01) == []
        # Holding: text does not end the wait, the final event does, at once.
        q = RequestEvents(waker)
        q.put(("delta", 0, "a", False))
        started = loop.time()
        threading.Timer(0.05, q.put, [("delta", 0, "b", False)]).start()
        threading.Timer(0.15, q.put, [("done", None)]).start()
        held = await q.get(hold_s=5.0)
        assert 0.1 < loop.time() - started < 2.0
        assert [item[0] for item in held] == ["delta", "delta", "done"]
        return got

    for out in asyncio.run(main()):
        assert [item[2] for item in out[:-1]] == [str(i) for i in range(2000)]


def test_serve_checks_its_new_flags() -> None:
    assert serve_main(["--threads", "0"]) == EXIT_USAGE
    assert serve_main(["--stream-interval-ms", "-1"]) == EXIT_USAGE


def test_more_requests_than_slots_each_get_their_own_caption(engine: CaptionEngine, tmp_path: Path) -> None:
    """Requests beyond the slot count wait for a free slot (not for a round) and each still
    gets exactly its own caption."""
    from desktop_app.engine import CaptionRequest, GenerationParams, ImageCaptioned

    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        path.write_bytes(png_bytes(70 + i, (48 + 8 * i, 40)))
        paths.append(path)
    limits = [3, 12, 5, 9, 2, 7]
    got: dict[Path, list[tuple[Any, ...]]] = {p: [] for p in paths}
    bridge = EngineBridge(engine, batch_size=2)
    handles = [bridge.submit(Job(path=path, prompt="Describe it.", system_prompt=None,
                                 params=GenerationParams(max_new_tokens=limit), sink=got[path].append))
               for path, limit in zip(paths, limits)]
    for handle in handles:
        assert handle.wait(60)
    bridge.stop()
    assert engine.runner.slots == 2 and bridge.stats.completed == 6
    for path, limit in zip(paths, limits):
        kind, result = got[path][-1]
        assert kind == "done" and result.path == path
        streamed = "".join(e[2] for e in got[path] if e[0] == "delta")
        [alone] = list(engine.caption(CaptionRequest.for_paths([path], prompt="Describe it.").with_params(
            max_new_tokens=limit)))
        assert isinstance(alone, ImageCaptioned)
        assert streamed == result.caption == alone.caption
        assert result.tokens == alone.tokens <= limit
