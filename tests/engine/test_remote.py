"""RemoteEngine against the project's own OpenAI-compatible server (loopback only)."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from fastapi import Request  # noqa: E402  (module level: the fake app's annotations resolve here)
from PIL import Image  # noqa: E402

from desktop_app.cli import build_parser, run_caption  # noqa: E402
from desktop_app.engine import (CaptionEngine, CaptionRequest, ImageCaptioned, LoadOptions,  # noqa: E402
                                ModelLoadError, TokensStreamed)
from desktop_app.engine.remote import RemoteEngine, normalize_endpoint  # noqa: E402
from desktop_app.server.app import create_app  # noqa: E402
from desktop_app.server.bridge import EngineBridge, ImageStore  # noqa: E402

CPU = LoadOptions(device="cpu", dtype="fp32")
RUNNER = "continuous"
PROMPT = "Describe {filename}."
MAX_TOKENS = 8
SERVED = "tiny"  # the model name the test servers serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A uvicorn server in a thread on a free loopback port."""

    def __init__(self, app: Any):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> CaptionEngine:
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner=RUNNER, workers=2)
    engine.load()
    return engine


def _serve(model_dir: Path) -> tuple[Served, EngineBridge, ImageStore]:
    """A server with its own engine."""
    engine = CaptionEngine(str(model_dir), options=CPU, runner=RUNNER, workers=2)
    engine.load()
    bridge = EngineBridge(engine, batch_size=4)
    store = ImageStore()
    bridge.start()
    return Served(create_app(engine, bridge, store, model_name=SERVED)), bridge, store


@pytest.fixture(scope="module")
def real(tiny_model_dir: Path) -> Iterator[Served]:
    served, bridge, store = _serve(tiny_model_dir)
    yield served
    served.stop()
    bridge.stop()
    store.close()


class Flaky:
    """A fake endpoint: /v1/models works; chat answers `statuses` in turn, then forwards."""

    def __init__(self, forward: str | None, statuses: list[int]):
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse, Response
        import httpx

        self.statuses, self.calls = list(statuses), 0
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": SERVED, "object": "model"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Any:
            self.calls += 1
            if self.statuses:
                status = self.statuses.pop(0)
                return JSONResponse({"error": {"message": f"fake {status}"}}, status_code=status)
            if forward is None:
                return JSONResponse({"error": {"message": "always down"}}, status_code=503)
            async with httpx.AsyncClient(timeout=60) as c:
                r = await c.post(forward + "/v1/chat/completions", content=await request.body(),
                                 headers={"content-type": "application/json"})
            return Response(r.content, status_code=r.status_code, media_type="text/event-stream")

        self.served = Served(app)


def make_folder(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        data = bytes((i * 37 + j * 11) % 256 for j in range(48 * 40 * 3))
        path = folder / f"img{i:02d}.png"
        Image.frombytes("RGB", (48, 40), data).save(path)
        paths.append(path)
    return paths


def local_captions(engine: CaptionEngine, paths: list[Path], root: Path) -> dict[str, str]:
    request = CaptionRequest.for_paths(paths, prompt=PROMPT).with_params(max_new_tokens=MAX_TOKENS)
    return {r.path.name: r.caption for r in engine.caption(request, root=root)}


def cli(folder: Path, tmp: Path, *endpoints: str, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    args = build_parser().parse_args([str(folder), "--prompt", PROMPT, "--max-new-tokens", str(MAX_TOKENS),
                                      "--concurrency", "2", "--data-dir", str(tmp / "data"), "-q",
                                      *[a for e in endpoints for a in ("--endpoint", e)], *extra])
    out, err = io.StringIO(), io.StringIO()
    code = run_caption(args, out, err)
    return code, out.getvalue() + err.getvalue()


def test_normalize_endpoint() -> None:
    assert normalize_endpoint("127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalize_endpoint("http://h:1/v1/") == "http://h:1/v1"


def test_two_endpoints_caption_a_folder_like_the_local_engine(engine: CaptionEngine, real: Served,
                                                              tiny_model_dir: Path, tmp_path: Path) -> None:
    second, bridge, store = _serve(tiny_model_dir)
    try:
        paths = make_folder(tmp_path / "imgs", 6)
        expected = local_captions(engine, paths, tmp_path / "imgs")
        code, log = cli(tmp_path / "imgs", tmp_path, real.url, second.url + "/v1")
        assert code == 0, log
        assert "captioned 6" in log
        for p in paths:
            assert p.with_suffix(".txt").read_text(encoding="utf-8") == expected[p.name].strip()
        code, log = cli(tmp_path / "imgs", tmp_path, real.url, second.url)  # nothing twice
        assert code == 0 and "0 to caption" in log
    finally:
        second.stop()
        bridge.stop()
        store.close()


def test_dead_endpoint_loses_nothing(real: Served, tmp_path: Path) -> None:
    down = Flaky(None, [])  # every chat request: 503
    paths = make_folder(tmp_path / "imgs", 5)
    remote = RemoteEngine([down.served.url, real.url], concurrency=2, retries=1, backoff_s=0.01)
    request = CaptionRequest.for_paths(paths, prompt=PROMPT).with_params(max_new_tokens=MAX_TOKENS)
    results = list(remote.caption(request))
    down.served.stop()
    assert sorted(r.path.name for r in results) == [p.name for p in paths]
    assert all(isinstance(r, ImageCaptioned) for r in results), results
    assert {r.metadata["endpoint"] for r in results} == {real.url + "/v1"}
    assert down.calls >= 2


def test_endpoint_stopped_mid_run(real: Served, tiny_model_dir: Path, tmp_path: Path) -> None:
    second, bridge, store = _serve(tiny_model_dir)
    paths = make_folder(tmp_path / "imgs", 8)
    remote = RemoteEngine([second.url, real.url], concurrency=1, retries=1, backoff_s=0.01)
    request = CaptionRequest.for_paths(paths, prompt=PROMPT).with_params(max_new_tokens=MAX_TOKENS)
    results = []
    try:
        for result in remote.caption(request):
            results.append(result)
            if len(results) == 1:
                second.stop()
    finally:
        bridge.stop()
        store.close()
    assert sorted(r.path.name for r in results) == [p.name for p in paths]
    assert all(isinstance(r, ImageCaptioned) for r in results), results


def test_429_is_retried_and_streams_join(real: Served, tmp_path: Path) -> None:
    flaky = Flaky(real.url, [429, 503])
    paths = make_folder(tmp_path / "imgs", 2)
    remote = RemoteEngine([flaky.served.url], model=SERVED, concurrency=1, retries=2, backoff_s=0.01)
    events: list[Any] = []
    request = CaptionRequest.for_paths(paths, prompt=PROMPT).with_params(max_new_tokens=MAX_TOKENS)
    results = list(remote.caption(request, on_event=events.append))
    flaky.served.stop()
    assert flaky.calls == 4
    assert all(isinstance(r, ImageCaptioned) for r in results), results
    for r in results:
        streamed = "".join(e.text for e in events if isinstance(e, TokensStreamed) and e.path == r.path)
        assert streamed == r.caption and r.caption


def test_no_endpoint_reachable(tmp_path: Path) -> None:
    remote = RemoteEngine([f"http://127.0.0.1:{free_port()}"])
    with pytest.raises(ModelLoadError, match="no endpoint reachable"):
        remote.load()
    code, log = cli(make_folder(tmp_path / "imgs", 1)[0].parent, tmp_path, f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "no endpoint reachable" in log


def test_cancel_stops_promptly(real: Served, tmp_path: Path) -> None:
    paths = make_folder(tmp_path / "imgs", 6)
    remote = RemoteEngine([real.url], concurrency=2)
    cancel = threading.Event()
    request = CaptionRequest.for_paths(paths, prompt=PROMPT).with_params(max_new_tokens=64)
    started = time.monotonic()
    results = []
    for result in remote.caption(request, cancel=cancel):
        results.append(result)
        cancel.set()
    assert time.monotonic() - started < 20
    assert 1 <= len(results) < len(paths)


def test_window_settings_choose_the_remote_backend() -> None:
    pytest.importorskip("PySide6")
    from desktop_app.engine.remote import RemoteOptions
    from desktop_app.ui.settings_panel import RunSettings

    s = RunSettings.from_json(RunSettings(backend="remote", endpoints="127.0.0.1:8000, http://h:9/v1",
                                          concurrency=3).to_json())
    assert s.engine_options() == RemoteOptions(("http://127.0.0.1:8000/v1", "http://h:9/v1"), None, 3)
    assert isinstance(RunSettings(backend="remote").engine_options(), LoadOptions)  # no endpoint: local
    assert RunSettings.from_json('{"backend": "cloud"}').backend == "local"
    assert "api_key" not in s.to_json()


def test_worker_loads_a_remote_engine(real: Served) -> None:
    pytest.importorskip("PySide6")
    from desktop_app.engine.remote import RemoteEngine, RemoteOptions
    from desktop_app.ui.worker import EngineWorker

    worker = EngineWorker()
    loaded: list[str] = []
    worker.model_loaded.connect(loaded.append)
    options = RemoteOptions((real.url + "/v1",), None, 2)
    worker.load_model("ignored", options)
    worker.load_model("ignored", options)  # already loaded: not rebuilt
    assert isinstance(worker._engine, RemoteEngine) and len(loaded) == 2 and real.url in loaded[0]
