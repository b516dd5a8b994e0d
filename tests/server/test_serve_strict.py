"""`serve` refuses what it cannot honour, in OpenAI's error shape, and never shows its internals.

The app runs on loopback with a stub engine (no model): every check here happens before a
request reaches the engine, and the stub proves it (no job was submitted).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")

from desktop_app.engine import ImageCaptioned  # noqa: E402
from desktop_app.engine.types import VideoOptions  # noqa: E402
from desktop_app.server.app import (DEFAULT_MAX_TOKENS_CAP, RequestError, create_app,  # noqa: E402
                                    load_body, parse_request)
from desktop_app.server.bridge import ImageStore  # noqa: E402
from tests.server.test_serve import free_port, messages, png_bytes  # noqa: E402

MODEL = "stub-model"
KEY = "strict-key"


class StubBridge:
    """Takes jobs like the engine bridge; `answer(job)` plays the engine's events."""

    def __init__(self, answer: Callable[[Any], None]):
        self.answer, self.jobs = answer, []
        self.video = VideoOptions()

    def submit(self, job: Any) -> Any:
        self.jobs.append(job)
        self.answer(job)
        return SimpleNamespace(cancel=lambda: None)

    def snapshot(self) -> dict[str, Any]:
        return {"requests": len(self.jobs)}


def caption_of(job: Any) -> None:
    n = job.params.variants
    job.sink(("delta", 0, "a red square", False))
    job.sink(("done", ImageCaptioned(job.path, "a red square", ("a red square",) * n, False,
                                     tokens=3, metadata={"prompt_tokens": 5})))


@pytest.fixture()
def served() -> Iterator[dict[str, Any]]:
    answers: list[Callable[[Any], None]] = [caption_of]
    bridge = StubBridge(lambda job: answers[0](job))
    store = ImageStore()
    engine = SimpleNamespace(spec=SimpleNamespace(name=MODEL))
    app = create_app(engine, bridge, store, api_key=KEY, max_body_bytes=2 * 2**20)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield {"url": f"http://127.0.0.1:{port}/v1", "bridge": bridge, "answers": answers}
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def sdk(s: dict[str, Any]) -> Any:
    return openai.OpenAI(base_url=s["url"], api_key=KEY, max_retries=0, timeout=30)


def post(s: dict[str, Any], content: bytes | Iterator[bytes], **headers: str) -> Any:
    return httpx.post(s["url"] + "/chat/completions", content=content, timeout=30,
                      headers={"authorization": f"Bearer {KEY}", "content-type": "application/json",
                               **headers})


def assert_openai_error(response: Any, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["param"] == param, error
    return error


IMAGE = png_bytes(1)

# (keyword arguments of chat.completions.create, the parameter the 400 must name)
REFUSED = [
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"logprobs": True}, "logprobs"),
    ({"extra_body": {"top_logprobs": 3}}, "top_logprobs"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"tool_choice": "auto"}, "tool_choice"),
    ({"frequency_penalty": 0.5}, "frequency_penalty"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": 100_000_000}, "max_tokens"),
    ({"max_completion_tokens": 10**9}, "max_completion_tokens"),
    ({"temperature": 3}, "temperature"),
    ({"temperature": 1e308}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"n": 100}, "n"),
    ({"n": 0}, "n"),
    ({"presence_penalty": 2.5}, "presence_penalty"),
    ({"seed": 2**70}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"extra_body": {"top_k": 10**9}}, "top_k"),
    ({"extra_body": {"repetition_penalty": 0}}, "repetition_penalty"),
    ({"extra_body": {"reasoning_effort_x": "high"}}, "reasoning_effort_x"),
    ({"stop": ["\n"]}, "stop"),
    ({"logit_bias": {"1": 5}}, "logit_bias"),
    ({"extra_body": {"mm_processor_kwargs": {"num_frames": 8}}}, "mm_processor_kwargs"),
]


@pytest.mark.parametrize("kwargs,param", REFUSED, ids=[p + "-" + str(i) for i, (_, p) in enumerate(REFUSED)])
def test_unhonoured_parameters_are_400_naming_them(served: dict[str, Any], kwargs: dict[str, Any],
                                                   param: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(served).chat.completions.create(model=MODEL, messages=messages(IMAGE), **kwargs)
    assert refused.value.param == param, refused.value.body
    assert refused.value.status_code == 400
    assert served["bridge"].jobs == [], "refused before the engine saw it"


def test_the_max_tokens_cap_is_said(served: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(served).chat.completions.create(model=MODEL, messages=messages(IMAGE), max_tokens=100_000_000)
    assert str(DEFAULT_MAX_TOKENS_CAP) in refused.value.message
    assert "--max-tokens-cap" in refused.value.message
    ok = sdk(served).chat.completions.create(model=MODEL, messages=messages(IMAGE),
                                             max_tokens=DEFAULT_MAX_TOKENS_CAP)
    assert served["bridge"].jobs[0].params.max_new_tokens == DEFAULT_MAX_TOKENS_CAP
    assert ok.choices[0].message.content == "a red square"


RAW = [  # bodies the SDK would not send: numbers no parameter can hold, NaN/Infinity
    ('"max_tokens": 1e400', "max_tokens"),
    ('"seed": ' + "7" * 5000, "seed"),
    ('"temperature": Infinity', "temperature"),
    ('"presence_penalty": NaN', "presence_penalty"),
    ('"top_p": -Infinity', "top_p"),
    ('"metadata": {"x": [NaN]}', "metadata"),
]


@pytest.mark.parametrize("field,param", RAW, ids=[p for _, p in RAW])
def test_impossible_numbers_are_400_not_500(served: dict[str, Any], field: str, param: str) -> None:
    body = json.dumps({"model": MODEL, "messages": messages(IMAGE)})[:-1] + ", " + field + "}"
    error = assert_openai_error(post(served, body.encode()), 400, param)
    assert len(error["message"]) < 200
    assert served["bridge"].jobs == []


def test_what_changes_nothing_is_accepted(served: dict[str, Any]) -> None:
    out = sdk(served).chat.completions.create(
        model=MODEL, messages=messages(IMAGE), response_format={"type": "text"}, logprobs=False,
        frequency_penalty=0, tool_choice="none", user="u1", seed=-(2**63), n=2, temperature=0.5,
        extra_body={"top_k": -1, "mm_processor_kwargs": {"fps": 2.0, "max_frames": 64}})
    assert [c.message.content for c in out.choices] == ["a red square"] * 2
    (job,) = served["bridge"].jobs
    assert job.params.top_k == 0 and job.params.seed == -(2**63) and job.params.variants == 2
    r = post(served, json.dumps({"messages": messages(IMAGE)}).encode())  # no model: the served one
    assert r.status_code == 200, r.text


def test_unknown_models_and_urls_are_404_in_the_same_shape(served: dict[str, Any]) -> None:
    c = sdk(served)
    with pytest.raises(openai.NotFoundError) as missing:
        c.chat.completions.create(model="gpt-4o", messages=messages(IMAGE))
    assert missing.value.param == "model" and missing.value.code == "model_not_found"
    assert c.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        c.models.retrieve("gpt-4o")
    auth = {"authorization": f"Bearer {KEY}"}
    assert_openai_error(httpx.get(served["url"] + "/models/gpt-4o", headers=auth), 404, "model")
    error = assert_openai_error(httpx.get(served["url"] + "/nothing/here", headers=auth), 404)
    assert error["code"] == "unknown_url"
    assert_openai_error(httpx.delete(served["url"] + "/models", headers=auth), 405)
    assert served["bridge"].jobs == []


def test_bearer_is_case_insensitive(served: dict[str, Any]) -> None:
    url = served["url"] + "/models"
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
        assert httpx.get(url, headers={"authorization": f"{scheme} {KEY}"}).status_code == 200, scheme
    for header in (f"Basic {KEY}", f"Bearer {KEY}x", KEY, "Bearer", ""):
        r = httpx.get(url, headers={"authorization": header})
        assert_openai_error(r, 401)


def test_internal_errors_say_an_id_and_log_the_details(served: dict[str, Any],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    secret = 'Traceback (most recent call last):\n  File "/secret/engine.py", line 9\nOutOfMemoryError: 102 GiB'
    served["answers"][0] = lambda job: job.sink(("error", secret))
    caplog.set_level(logging.ERROR, logger="desktop_app.server.app")
    c = sdk(served)
    with pytest.raises(openai.InternalServerError) as plain:
        c.chat.completions.create(model=MODEL, messages=messages(IMAGE))
    message = plain.value.message
    assert "internal error (request id req_" in message
    assert "secret" not in json.dumps(plain.value.body) and "Traceback" not in json.dumps(plain.value.body)
    request_id = message.split("request id ")[1].rstrip(")")
    assert any(request_id in r.getMessage() and "OutOfMemoryError" in r.getMessage() for r in caplog.records)

    served["answers"][0] = lambda job: (job.sink(("delta", 0, "a", False)), job.sink(("error", secret)))
    with httpx.stream("POST", served["url"] + "/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {KEY}"},
                      json={"model": MODEL, "messages": messages(IMAGE), "stream": True}) as r:
        text = r.read().decode()
    assert "internal error (request id req_" in text and "secret" not in text and "Traceback" not in text

    def crash(job: Any) -> None:  # a bug in the server itself, not an engine event
        raise KeyError("/secret/path")
    served["answers"][0] = crash
    r = post(served, json.dumps({"model": MODEL, "messages": messages(IMAGE)}).encode())
    error = assert_openai_error(r, 500)
    assert error["code"] == "internal_error" and "secret" not in r.text


def test_a_body_over_the_limit_is_413_while_reading(served: dict[str, Any]) -> None:
    big = json.dumps({"model": MODEL, "messages": "x" * (3 * 2**20)}).encode()  # over 2 MiB
    error = assert_openai_error(post(served, big), 413)
    assert error["code"] == "request_too_large" and "2 MiB" in error["message"]
    sent = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while the chunks come
        yield b'{"model": "stub-model", "messages": "'
        for _ in range(8):
            sent.append(1)
            yield b"y" * 2**20
        yield b'"}'
    assert_openai_error(post(served, chunks()), 413)
    assert served["bridge"].jobs == [] and len(sent) == 8
    ok = post(served, json.dumps({"model": MODEL, "messages": messages(IMAGE)}).encode())
    assert ok.status_code == 200, ok.text  # the connection pool and server are fine after it


def test_parse_request_checks_without_a_server(tmp_path: Path) -> None:
    body = {"messages": messages(IMAGE)}
    assert parse_request(body, 16).params.max_new_tokens == 16
    with pytest.raises(RequestError) as cap:
        parse_request({**body, "max_tokens": 20}, 16, max_tokens_cap=19)
    assert cap.value.param == "max_tokens" and "19" in cap.value.message
    with pytest.raises(RequestError) as model:
        parse_request({**body, "model": "other"}, 16, model="mine")
    assert model.value.status == 404
    video_part = {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}}
    video = {"messages": [{"role": "user", "content": [video_part]}]}
    kwargs = {"mm_processor_kwargs": {"fps": 1.0}}
    assert parse_request({**video, **kwargs}, 16, video=VideoOptions(fps=1.0)).video is None  # the server's own
    asked = parse_request({**video, "mm_processor_kwargs": {"fps": 1.0, "max_frames": 8}}, 16,
                          video=VideoOptions(fps=2.0, start=1.0))
    assert asked.video == VideoOptions(fps=1.0, max_frames=8, start=1.0)  # honoured per request
    with pytest.raises(RequestError) as frames:
        parse_request({**video, "mm_processor_kwargs": {"max_frames": 1}}, 16)
    assert frames.value.param == "max_frames"
    assert parse_request({**body, **kwargs}, 16, video=VideoOptions(fps=2.0)).video is None  # no video
    with pytest.raises(RequestError) as bad:
        load_body(b'{"seed": ' + b"9" * 5000 + b"}")
    assert bad.value.param == "seed"
    with pytest.raises(RequestError, match="not valid JSON"):
        load_body(b'{"a": ')
    with pytest.raises(RequestError, match="not valid JSON"):
        load_body(b"\xff\xfe{")


def test_base64_with_line_breaks_still_decodes_and_garbage_is_refused() -> None:
    from desktop_app.server.app import decode_image_url

    raw = png_bytes(5)
    text = base64.b64encode(raw).decode()
    assert decode_image_url("data:image/png;base64," + text) == (raw, ".png")
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76))  # MIME-style lines
    assert decode_image_url("data:image/png;base64," + wrapped) == (raw, ".png")
    with pytest.raises(RequestError, match="not valid base64"):
        decode_image_url("data:image/png;base64," + text[:-3] + "*==")
