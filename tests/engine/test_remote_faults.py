"""RemoteEngine against misbehaving fake endpoints (tiny ASGI apps on 127.0.0.1 only, no model):
broken streams, 429 with Retry-After, a server that never answers, greedy variants, video
sampling options, and API keys that must not cross a network in clear text."""

from __future__ import annotations

import asyncio
import email.utils
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from fastapi import Request  # noqa: E402  (module level: the fake app's annotations resolve here)

from desktop_app.cli import build_parser, run_caption  # noqa: E402
from desktop_app.engine import CaptionRequest, ImageCaptioned, ImageFailed, ModelLoadError  # noqa: E402
from desktop_app.engine.remote import (RemoteEngine, RemoteOptions, retry_after_s,  # noqa: E402
                                       sends_in_clear)
from desktop_app.engine.types import VideoOptions, item_seeds  # noqa: E402
from tests.engine.test_remote import free_port, make_folder  # noqa: E402

MODEL = "fake-model"


def sse(text: str, finish: str = "stop") -> str:
    """A well-formed OpenAI stream of `text`."""
    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
              {"choices": [{"index": 0, "delta": {"content": text}}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
              {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


class Fake:
    """An OpenAI-shaped endpoint on a free loopback port; `answer(body, call)` makes each chat
    reply (a Response, or a coroutine's); every request body is kept in `bodies`."""

    def __init__(self, answer: Callable[[dict[str, Any], int], Any]):
        from fastapi import FastAPI

        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": MODEL, "object": "model"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            body = await request.json()
            self.bodies.append(body)
            self.headers.append(dict(request.headers))
            reply = answer(body, len(self.bodies))
            return await reply if asyncio.iscoroutine(reply) else reply

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="critical", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "fake did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture()
def fakes() -> Iterator[Callable[..., Fake]]:
    made: list[Fake] = []

    def make(answer: Callable[[dict[str, Any], int], Any]) -> Fake:
        made.append(Fake(answer))
        return made[-1]

    yield make
    for fake in made:
        fake.stop()


def stream_of(text: str) -> Any:
    from fastapi.responses import Response

    return Response(sse(text), media_type="text/event-stream")


def good(body: dict[str, Any], call: int) -> Any:
    return stream_of(f"caption {body['seed']}")


def broken(body: dict[str, Any], call: int) -> Any:
    from fastapi.responses import Response

    return Response('data: {"choices": [{"index": 0, "delta": {"content": "a"}}\n\ndata: {oops\n\n',
                    media_type="text/event-stream")


def request_for(paths: list[Path], **params: Any) -> CaptionRequest:
    return CaptionRequest.for_paths(paths, prompt="Describe.").with_params(max_new_tokens=8, **params)


def test_a_broken_stream_is_retried_and_its_endpoint_left_out(fakes: Any, tmp_path: Path) -> None:
    bad, ok = fakes(broken), fakes(good)
    paths = make_folder(tmp_path / "imgs", 30)
    remote = RemoteEngine([bad.url, ok.url], concurrency=2, retries=1, backoff_s=0.01, cooldown_s=60)
    results = list(remote.caption(request_for(paths)))
    assert sorted(r.path.name for r in results) == [p.name for p in paths]
    assert all(isinstance(r, ImageCaptioned) for r in results), [r for r in results if isinstance(r, ImageFailed)]
    assert {r.metadata["endpoint"] for r in results} == {ok.url + "/v1"}
    assert 2 <= len(bad.bodies) <= 4, "retried, then left out: not tried for every image"


def test_429_waits_as_retry_after_says(fakes: Any, tmp_path: Path) -> None:
    from fastapi.responses import JSONResponse

    def busy(body: dict[str, Any], call: int) -> Any:
        if call <= 3:  # seconds, then an HTTP date, then seconds
            wait = (email.utils.formatdate(time.time() + 2, usegmt=True) if call == 2 else "1.5")
            return JSONResponse({"error": {"message": "slow down"}}, status_code=429,
                                headers={"Retry-After": wait})
        return stream_of("done at last")
    fake = fakes(busy)
    (path,) = make_folder(tmp_path / "imgs", 1)
    started = time.monotonic()
    (result,) = list(RemoteEngine([fake.url], concurrency=1).caption(request_for([path])))  # default retries
    took = time.monotonic() - started
    assert isinstance(result, ImageCaptioned) and result.caption == "done at last"
    assert len(fake.bodies) == 4
    assert took >= 1.5 + 1.0 + 1.5 - 0.2, took  # an HTTP date has whole seconds: 1-2 s from now
    assert took < 15


def test_retry_after_values() -> None:
    assert retry_after_s({"retry-after": "7"}) == 7.0
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    soon = retry_after_s({"retry-after": email.utils.formatdate(time.time() + 30, usegmt=True)})
    assert soon is not None and 28 <= soon <= 31
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None


def hang_forever(body: dict[str, Any], call: int) -> Any:
    async def never() -> Any:
        await asyncio.sleep(3600)
    return never()


def test_cancel_stops_at_once_against_an_endpoint_that_never_answers(fakes: Any, tmp_path: Path) -> None:
    silent = fakes(hang_forever)
    paths = make_folder(tmp_path / "imgs", 4)
    remote = RemoteEngine([silent.url], concurrency=2)  # default timeouts: 120 s per read
    cancel = threading.Event()
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.extend(remote.caption(request_for(paths), cancel=cancel)),
                              daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while len(silent.bodies) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(silent.bodies) == 2, "both requests are waiting for their answer"
    cancel.set()
    stopped = time.monotonic()
    worker.join(10)
    assert not worker.is_alive(), "caption() still waits for the silent server"
    assert time.monotonic() - stopped < 5  # the read timeout is 120 s
    assert results == []


def test_the_request_timeout_is_per_read(fakes: Any, tmp_path: Path) -> None:
    from fastapi.responses import StreamingResponse

    def slow_but_steady(body: dict[str, Any], call: int) -> Any:
        async def chunks() -> Any:
            yield 'data: {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}\n\n'
            for word in ("a ", "slow ", "steady ", "caption"):
                await asyncio.sleep(0.5)  # each chunk within the timeout, the whole well past it
                yield f'data: {json.dumps({"choices": [{"index": 0, "delta": {"content": word}}]})}\n\n'
            yield 'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
        return StreamingResponse(chunks(), media_type="text/event-stream")
    steady, silent = fakes(slow_but_steady), fakes(hang_forever)
    (path,) = make_folder(tmp_path / "imgs", 1)
    (result,) = list(RemoteEngine([steady.url], timeout_s=1.5, retries=0).caption(request_for([path])))
    assert isinstance(result, ImageCaptioned) and result.caption == "a slow steady caption"
    assert result.seconds > 1.5
    started = time.monotonic()
    remote = RemoteEngine([silent.url], timeout_s=0.5, retries=1, backoff_s=0.01, cooldown_s=0.2)
    (failed,) = list(remote.caption(request_for([path])))
    assert isinstance(failed, ImageFailed) and "ReadTimeout" in failed.reason, failed
    assert time.monotonic() - started < 8
    assert len(silent.bodies) == 4  # 2 attempts, left out for a moment, 2 more, dropped


def test_ctrl_c_stops_the_cli_at_once(fakes: Any, tmp_path: Path) -> None:
    silent = fakes(hang_forever)
    folder = make_folder(tmp_path / "imgs", 3)[0].parent
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CAPTION_STUDIO_API_KEY="")
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app", "caption", str(folder), "-q",
                             "--endpoint", silent.url, "--data-dir", str(tmp_path / "data")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not silent.bodies:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        proc.wait(10)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out = proc.stdout.read().decode()
    assert "cancelled" in out, out
    assert took < 8, took  # the read timeout is 120 s


def test_variants_are_one_request_each_with_its_own_seed(fakes: Any, tmp_path: Path) -> None:
    from fastapi.responses import JSONResponse

    def like_vllm(body: dict[str, Any], call: int) -> Any:  # vLLM refuses greedy n > 1
        if body.get("n", 1) > 1 and body.get("temperature", 1.0) == 0:
            return JSONResponse({"error": {"message": "greedy sampling requires n=1", "type":
                                           "BadRequestError", "param": None, "code": 400}}, status_code=400)
        return stream_of(f"caption {body['seed']}")
    fake = fakes(like_vllm)
    paths = make_folder(tmp_path / "imgs", 2)
    remote = RemoteEngine([fake.url], concurrency=1)
    greedy = list(remote.caption(request_for(paths, variants=2)))
    assert all(isinstance(r, ImageCaptioned) for r in greedy), greedy
    assert len(fake.bodies) == 2 and all(b.get("n", 1) == 1 for b in fake.bodies)
    assert all(r.variants == (r.caption, r.caption) for r in greedy)  # greedy: one caption

    fake.bodies.clear()
    request = request_for(paths, variants=3, temperature=0.7, seed=5)
    sampled = {r.path: r for r in remote.caption(request)}
    assert len(fake.bodies) == 6 and all(b.get("n", 1) == 1 for b in fake.bodies)
    for item in request.items:
        seeds = item_seeds(item, request.params)
        assert len(set(seeds)) == 3
        assert sampled[item.path].variants == tuple(f"caption {s}" for s in seeds)
        assert sampled[item.path].metadata["seeds"] == list(seeds)


def cli(folder: Path, tmp: Path, *flags: str) -> tuple[int, str]:
    args = build_parser().parse_args([str(folder), "-q", "--data-dir", str(tmp / "data"), *flags])
    out, err = io.StringIO(), io.StringIO()
    return run_caption(args, out, err), out.getvalue() + err.getvalue()


def test_temperature_is_checked_before_sending(fakes: Any, tmp_path: Path) -> None:
    fake = fakes(good)
    folder = make_folder(tmp_path / "imgs", 1)[0].parent
    code, log = cli(folder, tmp_path, "--endpoint", fake.url, "--temperature", "2.5")
    assert code == 2 and "temperature must be in [0, 2]" in log, log
    assert fake.bodies == []
    code, log = cli(folder, tmp_path, "--endpoint", fake.url, "--temperature", "2", "--retries", "0",
                    "--request-timeout", "30")
    assert code == 0, log
    assert fake.bodies[0]["temperature"] == 2.0


def test_video_sampling_reaches_the_server(fakes: Any, tmp_path: Path) -> None:
    from desktop_app.testing.videos import write_video

    fake = fakes(good)
    clip = write_video(tmp_path / "clip.mp4", seconds=1, fps=8, size=(32, 32))
    image = make_folder(tmp_path, 1)[0]
    request = CaptionRequest.for_paths([clip, image], prompt="Describe.",
                                       video=VideoOptions(fps=1.5, max_frames=12))
    results = list(RemoteEngine([fake.url], concurrency=1).caption(request))
    assert all(isinstance(r, ImageCaptioned) for r in results), results
    by_kind = {b["messages"][-1]["content"][0]["type"]: b for b in fake.bodies}
    assert by_kind["video_url"]["mm_processor_kwargs"] == {"fps": 1.5, "max_frames": 12}
    assert "mm_processor_kwargs" not in by_kind["image_url"]


def test_a_key_never_goes_in_clear_to_another_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sends_in_clear("http://gpu1:8000/v1") and sends_in_clear("http://10.0.0.5:8000/v1")
    assert sends_in_clear("HTTP://192.168.1.2/v1")
    for safe in ("https://gpu1/v1", "http://127.0.0.1:8000/v1", "http://127.5.0.1/v1",
                 "http://localhost:8000/v1", "http://[::1]:8000/v1", "http://api.localhost/v1"):
        assert not sends_in_clear(safe), safe
    calls: list[tuple[str, dict[str, str]]] = []

    def no_network(url: str, headers: dict[str, str], **kw: Any) -> Any:  # never a real request
        calls.append((url, headers))
        return httpx.Response(200, json={"data": [{"id": MODEL}]}, request=httpx.Request("GET", url))
    monkeypatch.setattr(httpx, "get", no_network)
    monkeypatch.setenv("CAPTION_STUDIO_API_KEY", "sk-secret")
    with pytest.raises(ModelLoadError, match="clear text"):
        RemoteEngine(["http://gpu1:8000"]).load()
    assert calls == []
    loaded = RemoteEngine(["http://gpu1:8000", "https://gpu2"]).load()  # the https one stays
    assert loaded.endpoints == ("https://gpu2/v1",)
    assert [url for url, _ in calls] == ["https://gpu2/v1/models"]
    calls.clear()
    RemoteEngine(["http://gpu1:8000"], allow_http_key=True).load()
    assert calls == [("http://gpu1:8000/v1/models", {"Authorization": "Bearer sk-secret"})]
    calls.clear()
    monkeypatch.setenv("CAPTION_STUDIO_API_KEY", "")
    RemoteEngine(["http://gpu1:8000"]).load()  # no key, nothing to leak
    assert calls == [("http://gpu1:8000/v1/models", {})]


def test_a_400_about_the_request_drops_the_endpoint(fakes: Any, tmp_path: Path) -> None:
    from fastapi.responses import JSONResponse

    def capped(body: dict[str, Any], call: int) -> Any:
        return JSONResponse({"error": {"message": "max_tokens 9000 is over this server's limit of "
                                       "8192 tokens", "type": "invalid_request_error",
                                       "param": "max_tokens", "code": "invalid_value"}}, status_code=400)
    fake = fakes(capped)
    folder = make_folder(tmp_path / "imgs", 5)[0].parent
    code, log = cli(folder, tmp_path, "--endpoint", fake.url, "--max-new-tokens", "9000",
                    "--concurrency", "1")
    assert code == 1 and "8192" in log and "left pending" in log, log
    assert len(fake.bodies) == 1, "not sent again for every image"


def test_options_carry_the_timeout_and_retries() -> None:
    options = RemoteOptions(("http://127.0.0.1:1/v1",), None, 2, timeout_s=9.0, retries=1,
                            allow_http_key=True)
    engine = RemoteEngine.from_options(options)
    assert (engine.timeout_s, engine.retries, engine.allow_http_key) == (9.0, 1, True)
    assert engine.options == options
