"""The OpenAI-compatible server, end to end with the official `openai` client (loopback only)."""

from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")

from PIL import Image  # noqa: E402

from desktop_app.engine import CaptionEngine, CaptionRequest, ImageCaptioned, LoadOptions  # noqa: E402
from desktop_app.server.app import create_app  # noqa: E402
from desktop_app.server.bridge import EngineBridge, ImageStore  # noqa: E402

CPU = LoadOptions(device="cpu", dtype="fp32")  # fp32 CPU: batching does not change greedy tokens
RUNNER = "continuous"
KEY = "test-key"
MODEL = "tiny"  # the served model name
PROMPT = "Describe this image."
MAX_TOKENS = 12


def png_bytes(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    data = bytes((seed * 37 + i * 11) % 256 for i in range(size[0] * size[1] * 3))
    buf = io.BytesIO()
    Image.frombytes("RGB", size, data).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def messages(data: bytes, prompt: str = PROMPT) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(data)}},
                                         {"type": "text", "text": prompt}]}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[dict[str, Any]]:
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner=RUNNER, workers=2)
    engine.load()
    bridge = EngineBridge(engine, batch_size=4)
    store = ImageStore()
    app = create_app(engine, bridge, store, api_key=KEY, model_name=MODEL)
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
        yield {"url": f"http://127.0.0.1:{port}/v1", "bridge": bridge, "engine": engine,
               "store": store, "model_dir": tiny_model_dir}
    finally:
        server.should_exit = True
        thread.join(10)
        bridge.stop()
        store.close()


def client(server: dict[str, Any], key: str = KEY) -> Any:
    return openai.OpenAI(base_url=server["url"], api_key=key, max_retries=0, timeout=60)


def test_plain_and_streamed_completion_agree(server: dict[str, Any]) -> None:
    c = client(server)
    assert [m.id for m in c.models.list().data] == [MODEL]
    image = png_bytes(1)
    done = c.chat.completions.create(model=MODEL, messages=messages(image), max_tokens=MAX_TOKENS,
                                     temperature=0)
    assert done.object == "chat.completion"
    choice = done.choices[0]
    assert isinstance(choice.message.content, str) and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert done.usage.completion_tokens <= MAX_TOKENS and done.usage.prompt_tokens > 0

    stream = c.chat.completions.create(model=MODEL, messages=messages(image), max_tokens=MAX_TOKENS,
                                       temperature=0, stream=True)
    deltas, reasons = [], []
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        for ch in chunk.choices:
            if ch.delta.content:
                deltas.append(ch.delta.content)
            if ch.finish_reason:
                reasons.append(ch.finish_reason)
    assert "".join(deltas) == choice.message.content
    assert reasons == [choice.finish_reason]
    assert not any(server["store"].root.iterdir()), "request images are deleted after use"


def test_greedy_matches_the_local_engine(server: dict[str, Any], tmp_path: Path) -> None:
    image = png_bytes(2, (80, 64))
    path = tmp_path / "local.png"
    path.write_bytes(image)
    local = CaptionEngine(str(server["model_dir"]), options=CPU, runner=RUNNER, workers=2)
    request = CaptionRequest.for_paths([path], prompt=PROMPT).with_params(max_new_tokens=MAX_TOKENS)
    [result] = list(local.caption(request))
    assert isinstance(result, ImageCaptioned)
    remote = client(server).chat.completions.create(
        model=MODEL, messages=messages(image), max_tokens=MAX_TOKENS, temperature=0)
    assert remote.choices[0].message.content == result.caption
    assert remote.choices[0].finish_reason == ("length" if result.truncated else "stop")


def test_concurrent_requests_are_each_a_job_of_the_live_engine(server: dict[str, Any]) -> None:
    stats = server["bridge"].stats
    jobs_before = server["engine"].live.jobs_submitted if server["engine"].live else 0
    c = client(server)
    images = [png_bytes(10 + i, (48 + 16 * i, 48)) for i in range(4)]

    def one(image: bytes) -> str:
        out = c.chat.completions.create(model=MODEL, messages=messages(image),
                                        max_tokens=MAX_TOKENS, temperature=0)
        return out.choices[0].message.content

    with ThreadPoolExecutor(4) as pool:
        batched = list(pool.map(one, images))
    assert server["engine"].live.jobs_submitted - jobs_before == 4, stats
    # fp32: an image's greedy caption does not depend on what else was in its batch.
    assert batched == [one(image) for image in images]


def test_auth_and_bad_images(server: dict[str, Any]) -> None:
    with pytest.raises(openai.AuthenticationError):
        client(server, key="wrong").chat.completions.create(
            model=MODEL, messages=messages(png_bytes(3)), max_tokens=4)
    assert httpx.get(server["url"] + "/models").status_code == 401

    c = client(server)
    with pytest.raises(openai.BadRequestError) as bad:
        c.chat.completions.create(model=MODEL, messages=messages(b"\x89PNG\r\n\x1a\nnot really"),
                                  max_tokens=4)
    assert "cannot caption the image" in str(bad.value)
    with pytest.raises(openai.BadRequestError) as remote:
        c.chat.completions.create(model=MODEL, max_tokens=4, messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}])
    assert "remote image URLs" in str(remote.value)
    with pytest.raises(openai.BadRequestError):  # a corrupt image in a stream: 400 before any chunk
        list(c.chat.completions.create(model=MODEL, messages=messages(b"GIF89a broken"),
                                       max_tokens=4, stream=True))
    ok = c.chat.completions.create(model=MODEL, max_tokens=4, n=2, temperature=0.8, seed=7,
                                   messages=[{"role": "system", "content": "Be brief."}] + messages(png_bytes(4)))
    assert len(ok.choices) == 2 and all(ch.finish_reason in ("stop", "length") for ch in ok.choices)
