"""`caption-studio serve`: an OpenAI-compatible HTTP server around the local engine.

    python -m desktop_app serve --model ID_OR_PATH [--host 127.0.0.1] [--port 8000]
        [env CAPTION_STUDIO_API_KEY | --api-key KEY] [--batch-size N] [--device ...]
        [--max-tokens-cap 8192] [--max-body-mb 64]

Endpoints: `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/chat/completions` (1 to 20
images per request as `data:` URLs, asked about together in order, or one video as a
`video_url` `data:video/...` URL sampled as the `--video-*` flags say, plus optional text and
system message; `stream`, `n`, `max_tokens`, `temperature`, `top_p`, `top_k`, `seed`,
`presence_penalty`, `repetition_penalty`). Remote image URLs are refused: the server never
uses the network. Every request is one job of the live engine, sharing its slots with the others (see bridge.py).

A request the server cannot honour as asked is refused, never quietly changed: a parameter
it does not support (`response_format` other than text, `logprobs`, `tools`, a non-zero
`frequency_penalty`, an unknown field...), a value out of range, NaN/Infinity, or a model it
does not serve (404). Errors use OpenAI's shape `{"error": {"message", "type", "param",
"code"}}`; a server-side failure says "internal error" and a request id, its details go to
the log only.
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime.

import argparse
import asyncio
import base64
import binascii
import json
import logging
import math
import os
import re
import secrets
import signal
import sys
import time
import traceback
import uuid
import weakref
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator, Sequence

from ..engine import CaptionEngine, GenerationParams, ImageCaptioned
from ..engine.types import VideoOptions
from .bridge import EngineBridge, ImageStore, Job

log = logging.getLogger(__name__)
EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_PROMPT = "Describe this image in detail."
MAX_IMAGES = 20  # several images in one request: one question about them all, in order
_SUFFIXES = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp", "gif": ".gif",
             "bmp": ".bmp", "tiff": ".tiff", "heic": ".heic", "heif": ".heif", "avif": ".avif"}
_DATA_URL = re.compile(r"^data:image/([a-zA-Z0-9.+-]+)((?:;[^,;]*)*);base64,(.*)$", re.DOTALL)
_VIDEO_SUFFIXES = {"mp4": ".mp4", "webm": ".webm", "quicktime": ".mov", "matroska": ".mkv",
                   "msvideo": ".avi", "avi": ".avi"}
_VIDEO_URL = re.compile(r"^data:video/([a-zA-Z0-9.+-]+)((?:;[^,;]*)*);base64,(.*)$", re.DOTALL)


class RequestError(Exception):
    """A client error: becomes a 4xx response with an OpenAI-style error body."""

    def __init__(self, message: str, status: int = 400, param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.message, self.status, self.param, self.code = message, status, param, code


def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass
class ParsedRequest:
    image: bytes
    suffix: str
    prompt: str
    system_prompt: str | None
    params: GenerationParams
    stream: bool
    include_usage: bool
    extra_images: tuple[tuple[bytes, str], ...] = ()  # images 2.. of a multi-image question
    video: VideoOptions | None = None  # this request's own video sampling (mm_processor_kwargs)


# -- the JSON body ---------------------------------------------------------------------------
class _BadNumber:
    """A number JSON allows but no parameter can hold (1e400, a 5000-digit integer), or the
    NaN/Infinity that Python's json accepts and JSON does not: refused, naming its parameter."""

    def __init__(self, literal: str, why: str):
        self.literal, self.why = literal, why


def _parse_int(text: str) -> Any:
    # int() of a very long literal is slow and past 4300 digits raises: no parameter needs 20.
    return int(text) if len(text) <= 20 else _BadNumber(text, "is out of range")


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text, "is out of range")


def _parse_constant(text: str) -> Any:
    return _BadNumber(text, "is not a JSON number (NaN and Infinity are not allowed)")


def _find_bad(value: Any) -> _BadNumber | None:
    if isinstance(value, _BadNumber):
        return value
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return None
    for item in value:
        found = _find_bad(item)
        if found is not None:
            return found
    return None


def load_body(raw: bytes | bytearray) -> Any:
    """The request's JSON; RequestError naming the parameter that holds an impossible number."""
    try:
        body = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, absurd nesting
        raise RequestError("the request body is not valid JSON", code="invalid_json") from None
    for key, value in body.items() if isinstance(body, dict) else ():
        try:
            bad = _find_bad(value)
        except RecursionError:
            raise RequestError(f"{key} is nested too deeply", param=key) from None
        if bad is not None:
            shown = bad.literal if len(bad.literal) <= 24 else f"{bad.literal[:12]}...({len(bad.literal)} chars)"
            raise RequestError(f"{key}: {shown} {bad.why}", param=key, code="invalid_value")
    return body


# -- parameters ------------------------------------------------------------------------------
MAX_N = 8  # choices per request (each is a row of the engine's batch)
MAX_TOP_K = 1000  # beyond this top_k is "off" in all but name
SEED_RANGE = (-2**63, 2**63 - 1)  # the int64 OpenAI and vLLM take
DEFAULT_MAX_TOKENS_CAP = 8192

# Fields that change nothing for a caption: accepted and ignored.
_HARMLESS = frozenset({"user", "metadata", "store", "service_tier", "parallel_tool_calls"})
# Fields the server does not honour: accepted only at the value that asks for nothing.
_NOT_HONOURED: dict[str, tuple[Any, str]] = {
    "frequency_penalty": (lambda v: v == 0 and not isinstance(v, bool), "frequency_penalty is not supported (use presence_penalty or repetition_penalty)"),
    "logprobs": (lambda v: v is False, "logprobs are not supported"),
    "top_logprobs": (lambda v: v == 0 and not isinstance(v, bool), "top_logprobs are not supported"),
    "tools": (lambda v: v == [], "tools (function calling) are not supported"),
    "tool_choice": (lambda v: v == "none", "tool_choice is not supported (no tools)"),
    "functions": (lambda v: v == [], "functions are not supported"),
    "function_call": (lambda v: v == "none", "function_call is not supported"),
    "response_format": (lambda v: v == {"type": "text"}, "response_format other than {\"type\": \"text\"} is not supported: the server answers plain text"),
    "logit_bias": (lambda v: v == {}, "logit_bias is not supported"),
    "stop": (lambda v: v in ([], ""), "stop sequences are not supported"),
    "min_p": (lambda v: v == 0 and not isinstance(v, bool), "min_p is not supported"),
    "modalities": (lambda v: v == ["text"], "only text output is supported"),
}
_HONOURED = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                       "top_p", "top_k", "n", "seed", "stream", "stream_options",
                       "repetition_penalty", "presence_penalty", "mm_processor_kwargs"})


def _check_fields(body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in _HONOURED or key in _HARMLESS or value is None:
            continue
        check = _NOT_HONOURED.get(key)
        if check is None:
            raise RequestError(f"unrecognized request argument: {key}", param=key,
                               code="unknown_parameter")
        if not check[0](value):
            raise RequestError(check[1], param=key, code="unsupported_parameter")


def _number(body: dict[str, Any], key: str, default: Any, low: float, high: float,
            integer: bool = False, low_open: bool = False) -> Any:
    """`body[key]` (default when absent or null), a number in its range, or RequestError."""
    value = body.get(key)
    if value is None:
        return default
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"{key} must be {kind}, not {json.dumps(value)[:40]}", param=key,
                           code="invalid_type")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise RequestError(f"{key} must be an integer, not {value!r}", param=key, code="invalid_type")
        value = int(value)
    if value < low or value > high or (low_open and value == low):
        left = "(" if low_open else "["
        span = f">= {low:g}" if high == math.inf else f"in {left}{low:g}, {high:g}]"
        shown = value if abs(value) < 1e15 else f"{value:.3g}"
        raise RequestError(f"{key} must be {span}, not {shown}", param=key, code="invalid_value")
    return value


def _max_tokens(body: dict[str, Any], default: int, cap: int) -> int:
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    value = _number(body, key, default, 1, math.inf, integer=True)
    if value > cap:
        raise RequestError(f"{key} {value} is over this server's limit of {cap} tokens "
                           "(serve --max-tokens-cap)", param=key, code="invalid_value")
    return value


def _params(body: dict[str, Any], default_max_tokens: int, cap: int) -> GenerationParams:
    top_k = _number(body, "top_k", 0, -1, MAX_TOP_K, integer=True)
    return GenerationParams(
        max_new_tokens=_max_tokens(body, default_max_tokens, cap),
        temperature=float(_number(body, "temperature", 0.0, 0, 2)),
        top_p=float(_number(body, "top_p", 1.0, 0, 1, low_open=True)),
        top_k=max(0, top_k),  # -1 is vLLM's "off", as 0 is here
        repetition_penalty=float(_number(body, "repetition_penalty", 1.0, 0, 10, low_open=True)),
        presence_penalty=float(_number(body, "presence_penalty", 0.0, -2, 2)),
        seed=_number(body, "seed", 0, *SEED_RANGE, integer=True),
        variants=_number(body, "n", 1, 1, MAX_N, integer=True))


def _flag(body: dict[str, Any], key: str, within: dict[str, Any] | None = None) -> bool:
    value = (body if within is None else within).get(key)
    if value is not None and not isinstance(value, bool):
        raise RequestError(f"{key} must be true or false", param=key, code="invalid_type")
    return bool(value)


def _check_model(body: dict[str, Any], served: str | None) -> None:
    model = body.get("model")
    if model is None or served is None:
        return
    if model != served:
        shown = json.dumps(model)[:80]
        raise RequestError(f"the model {shown} does not exist on this server (it serves "
                           f"{json.dumps(served)})", status=404, param="model", code="model_not_found")


def _video_kwargs(body: dict[str, Any], video: VideoOptions | None, has_video: bool) -> VideoOptions | None:
    """vLLM's per-request `mm_processor_kwargs` (`fps`, `max_frames`): the video sampling of
    this request, the server's --video-* settings with what it asks for; None for the server's
    own (no kwargs, or no video in the request)."""
    kwargs = body.get("mm_processor_kwargs")
    if kwargs is None:
        return None
    if not isinstance(kwargs, dict):
        raise RequestError("mm_processor_kwargs must be an object", param="mm_processor_kwargs",
                           code="invalid_type")
    unknown = sorted(set(kwargs) - {"fps", "max_frames", "do_sample_frames"})
    if unknown:
        raise RequestError(f"mm_processor_kwargs.{unknown[0]} is not supported (only fps and "
                           "max_frames)", param="mm_processor_kwargs", code="unsupported_parameter")
    if kwargs.get("do_sample_frames") is False:
        raise RequestError("mm_processor_kwargs.do_sample_frames false is not supported: the "
                           "server samples the frames", param="mm_processor_kwargs",
                           code="unsupported_parameter")
    fps = _number(kwargs, "fps", None, 0, 60, low_open=True)
    frames = _number(kwargs, "max_frames", None, 2, 100_000, integer=True)
    if not has_video:
        return None  # they apply to videos only
    own = video or VideoOptions()
    asked = replace(own, fps=own.fps if fps is None else float(fps),
                    max_frames=own.max_frames if frames is None else int(frames))
    try:
        asked.validate()
    except ValueError as exc:
        raise RequestError(f"mm_processor_kwargs: {exc}", param="mm_processor_kwargs") from exc
    return None if asked == own else asked


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise RequestError(f"{where} content may only hold text parts", param="messages")
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    raise RequestError(f"{where} content must be a string or a list of parts", param="messages")


def decode_image_url(url: str, media: str = "image") -> tuple[bytes, str]:
    """(bytes, file suffix) of a base64 `data:image/...` (or `data:video/...`) URL; RequestError otherwise."""
    if re.match(r"^https?://", url, re.IGNORECASE):
        raise RequestError(f"remote {media} URLs are not supported (the server does not use the "
                           f"network): send the {media} as a data:{media}/...;base64 URL", param="messages")
    match = (_VIDEO_URL if media == "video" else _DATA_URL).match(url)
    if not match:
        raise RequestError(f"{media}_url must be a data:{media}/<type>;base64,... URL", param="messages")
    kind = match.group(1).lower()
    suffix = (_VIDEO_SUFFIXES if media == "video" else _SUFFIXES).get(kind.removeprefix("x-"))
    if suffix is None:
        raise RequestError(f"unsupported {media} type {media}/{kind}", param="messages")
    payload = match.group(3)
    try:
        try:  # clients send one unbroken line: no pass over the payload to drop whitespace
            data = base64.b64decode(payload, validate=True)
        except binascii.Error:
            data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"the {media} is not valid base64: {exc}", param="messages") from None
    if not data:
        raise RequestError(f"the {media} is empty", param="messages")
    return data, suffix


def parse_request(body: Any, default_max_tokens: int, *, max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
                  model: str | None = None, video: VideoOptions | None = None) -> ParsedRequest:
    """The request's images, prompt and parameters; RequestError (400, or 404 for a model this
    server does not serve) naming the parameter for anything it cannot honour as asked.

    `model`: the served name (None: any name is taken); `video`: how the server samples videos
    (a request's `mm_processor_kwargs` may only ask for that).
    """
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    _check_fields(body)
    _check_model(body, model)
    images, system, texts = _contents(body.get("messages"))
    if not 1 <= len(images) <= MAX_IMAGES:
        raise RequestError(f"send 1 to {MAX_IMAGES} images per request, not {len(images)}", param="messages")
    videos = sum(suffix in _VIDEO_SUFFIXES.values() for _, suffix in images)
    if videos and len(images) > 1:
        raise RequestError("a video must come alone: send one video, or 1 to "
                           f"{MAX_IMAGES} images, per request", param="messages")
    sampling = _video_kwargs(body, video, bool(videos))
    prompt = "\n".join(t for t in texts if t.strip()) or DEFAULT_PROMPT
    params = _params(body, default_max_tokens, max_tokens_cap)
    try:
        params.validate()
    except ValueError as exc:  # a range the checks above missed: still the client's
        raise RequestError(f"bad parameter: {exc}", code="invalid_value") from None
    stream = _flag(body, "stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise RequestError("stream_options must be an object", param="stream_options", code="invalid_type")
    return ParsedRequest(
        image=images[0][0], suffix=images[0][1],
        # The engine fills {filename} etc. in prompts; a client's braces stay literal.
        prompt=prompt.replace("{", "{{").replace("}", "}}"),
        system_prompt="\n".join(system) or None, params=params, stream=stream,
        include_usage=bool(stream_options) and _flag(body, "include_usage", stream_options),
        extra_images=tuple(images[1:]), video=sampling)


def _contents(messages: Any) -> tuple[list[tuple[bytes, str]], list[str], list[str]]:
    """(images, system texts, user texts) of `messages`, in order."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list", param="messages")
    system: list[str] = []
    texts: list[str] = []
    images: list[tuple[bytes, str]] = []
    for message in messages:
        if not isinstance(message, dict):
            raise RequestError("each message must be an object", param="messages")
        role, content = message.get("role"), message.get("content")
        if role in ("system", "developer"):
            system.append(_text_of(content, f"a {role} message's"))
        elif role == "user":
            if isinstance(content, str):
                texts.append(content)
                continue
            if not isinstance(content, list):
                raise RequestError("user content must be a string or a list of parts", param="messages")
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    texts.append(str(part.get("text", "")))
                elif kind in ("image_url", "video_url"):  # a video as vLLM takes it: sampled here
                    media = kind.removesuffix("_url")
                    ref = part.get(kind)
                    url = ref.get("url") if isinstance(ref, dict) else ref
                    if not isinstance(url, str):
                        raise RequestError(f"{kind}.url must be a string", param="messages")
                    images.append(decode_image_url(url, media))
                else:
                    raise RequestError(f"unsupported content part type {kind!r}", param="messages")
        else:
            raise RequestError(f"unsupported message role {role!r}: send one user turn with one "
                               "image (and an optional system message)", param="messages")
    return images, system, texts


def _finish_reasons(result: ImageCaptioned, params: GenerationParams) -> list[str]:
    tokens = result.metadata.get("tokens") or []
    reasons = []
    for v in range(len(result.variants)):
        if v == 0:
            truncated = result.truncated
        else:
            truncated = v < len(tokens) and tokens[v] >= params.max_new_tokens
        reasons.append("length" if truncated else "stop")
    return reasons


def _usage(result: ImageCaptioned) -> dict[str, int]:
    prompt = int(result.metadata.get("prompt_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": result.tokens,
            "total_tokens": prompt + result.tokens}


class LoopWaker:
    """Wakes requests' waiters on an event loop from another thread, many per wake-up.

    The engine thread produces text for every running request at each decoding step; one
    `call_soon_threadsafe` (a write to the loop's self-pipe) per request per step showed up
    in the profile. Here the first request to need waking schedules one call, and every
    request queued until that call runs rides on it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._waiting: deque[asyncio.Event] = deque()
        self._scheduled = False

    def wake(self, ready: asyncio.Event) -> None:  # any thread
        self._waiting.append(ready)
        if not self._scheduled:  # read after the append: a run that reset it sees the event
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:  # the loop's thread
        self._scheduled = False
        while True:
            try:
                self._waiting.popleft().set()
            except IndexError:
                return


class RequestEvents:
    """One request's events, handed from the engine thread to the event loop in batches.

    `put()` (engine thread) appends; only the first item after the loop last drained asks
    the waker for a wake-up, so a request costs at most one per loop turn rather than one
    per token, and none at all for text while the consumer holds (`get(hold_s=...)`): then
    only the final event wakes it early. `get()` (event loop) returns everything queued.
    """

    def __init__(self, waker: LoopWaker):
        self._waker = waker
        self._items: deque[tuple[Any, ...]] = deque()
        self._scheduled = False
        self._holding = False
        self._final = False
        self._ready = asyncio.Event()

    def put(self, item: tuple[Any, ...]) -> None:
        text = item[0] == "delta"
        if not text:
            self._final = True
        self._items.append(item)
        if text and (self._scheduled or self._holding):  # read after the append (see get)
            return
        self._scheduled = True  # the end always wakes: a wake-up pending may already be used
        self._waker.wake(self._ready)

    async def get(self, hold_s: float | None = None) -> list[tuple[Any, ...]]:
        """Everything queued, oldest first. Waits for at least one item; with `hold_s`, waits
        that long instead (text that comes meanwhile does not wake it; the final event does)."""
        if hold_s is not None:
            self._holding = True
            clock = asyncio.get_running_loop().time
            deadline = clock() + hold_s
            try:
                while True:  # a wake-up asked for before the hold may still come: wait on
                    self._ready.clear()
                    left = deadline - clock()
                    if left <= 0 or self._final:  # checked after the clear: no end is missed
                        break
                    try:
                        await asyncio.wait_for(self._ready.wait(), left)
                    except asyncio.TimeoutError:
                        break
            finally:
                self._holding = False
        else:
            while not self._items:
                await self._ready.wait()
                self._ready.clear()
        self._scheduled = False  # before draining: text put from now on wakes the loop again
        out = []
        while True:
            try:
                out.append(self._items.popleft())
            except IndexError:
                return out


class _KeyCheck:
    """Pure ASGI middleware checking `Authorization: Bearer KEY` (no per-chunk cost on streams,
    unlike an `@app.middleware("http")` function, which pipes every chunk through a task).
    The scheme is case-insensitive (RFC 9110), the key is compared in constant time."""

    def __init__(self, app: Any, api_key: str, reject: Any):
        self.app, self.expected, self.reject = app, api_key.encode(), reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
            scheme, _, token = given.strip().partition(b" ")
            ok = secrets.compare_digest(token.strip(), self.expected)  # always compared: no timing hint
            if not (ok and scheme.lower() == b"bearer"):
                await self.reject()(scope, receive, send)
                return
        await self.app(scope, receive, send)


DEFAULT_MAX_BODY_MB = 64


def _too_large(limit: int) -> RequestError:
    return RequestError(f"the request body is over this server's limit of {limit / 2**20:g} MiB "
                        "(serve --max-body-mb)", status=413, code="request_too_large")


async def read_body(request: Any, limit: int) -> bytearray:
    """The request body, refused (413) as soon as it is known to be over `limit` bytes: a
    declared Content-Length before anything is read, else while the chunks come. What the
    client still sends after the refusal is discarded by the HTTP server, never held."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError("bad Content-Length header")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return body


def create_app(engine: CaptionEngine, bridge: EngineBridge, store: ImageStore,
               api_key: str | None = None, model_name: str | None = None,
               default_max_tokens: int = 256, max_pixels: int | None = 1024 * 1024,
               stream_interval_s: float = 0.02, max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
               max_body_bytes: int = DEFAULT_MAX_BODY_MB * 2**20,
               video: VideoOptions | None = None) -> Any:
    """The FastAPI app; the caller starts and stops the bridge.

    `stream_interval_s`: a streamed request's text goes out at most this often, the deltas
    that came meanwhile merged into one chunk per choice (0: every event-loop turn, still
    merged); the first delta and the final chunks are never held back.
    `max_tokens_cap`: the most `max_tokens` a request may ask for (more is a 400, before
    anything is allocated); `max_body_bytes`: the largest request body (more is a 413).
    `video`: how the server samples videos (default: the bridge's).
    `app.state.close_streams()` (on the event loop) ends every open request at once, streams
    with an error chunk and `[DONE]`: a shutdown need not wait for their captions.
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    name = model_name or engine.spec.name
    video = video or getattr(bridge, "video", None)
    created = int(time.time())
    wakers: dict[asyncio.AbstractEventLoop, LoopWaker] = {}
    live: weakref.WeakSet[RequestEvents] = weakref.WeakSet()  # requests that may be waiting
    app = FastAPI(title="Caption Studio", version="0.1.0")
    app.state.bridge = bridge

    def fail(status: int, message: str, kind: str = "invalid_request_error",
             param: str | None = None, code: str | None = None) -> JSONResponse:
        return JSONResponse(error_body(message, kind, param, code), status_code=status)

    def internal_body(detail: Any) -> dict[str, Any]:
        """What a client sees of a server-side failure: an id to quote; the rest is logged."""
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        log.error("request %s failed: %s", request_id, detail)
        return error_body(f"internal error (request id {request_id})", "server_error",
                          code="internal_error")

    def ended(item: tuple[Any, ...]) -> JSONResponse:
        """The response of a request whose engine job ended in `item` without a caption."""
        if item[0] == "failed":
            return fail(400, f"cannot caption the image: {item[1]}", param="messages")
        if item[0] == "closing":
            return fail(503, str(item[1]), "server_error", code="shutting_down")
        return JSONResponse(internal_body(item[1]), status_code=500)

    def ended_chunk(item: tuple[Any, ...]) -> str:
        if item[0] == "failed":
            body = error_body(f"cannot caption the image: {item[1]}", param="messages")
        elif item[0] == "closing":
            body = error_body(str(item[1]), "server_error", code="shutting_down")
        else:
            body = internal_body(item[1])
        return f"data: {json.dumps(body)}\n\n"

    def close_streams() -> None:
        for events in list(live):
            events.put(("closing", "the server is shutting down"))

    app.state.close_streams = close_streams

    if api_key:
        app.add_middleware(_KeyCheck, api_key=api_key, reject=lambda: fail(
            401, "invalid or missing API key (Authorization: Bearer KEY)", "authentication_error",
            code="invalid_api_key"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message, code = f"unknown URL: {request.method} {request.url.path}", "unknown_url"
        elif exc.status_code == 405:
            message, code = f"{request.method} is not allowed on {request.url.path}", "method_not_allowed"
        else:
            message, code = str(exc.detail), None
        return JSONResponse(error_body(message, code=code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(internal_body("".join(traceback.format_exception(exc)).rstrip()),
                            status_code=500)

    def model_card() -> dict[str, Any]:
        return {"id": name, "object": "model", "created": created, "owned_by": "caption-studio"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        if model_id != name:
            return fail(404, f"the model {json.dumps(model_id)} does not exist on this server "
                             f"(it serves {json.dumps(name)})", param="model", code="model_not_found")
        return model_card()

    @app.get("/v1/stats")
    async def stats() -> dict[str, Any]:
        return bridge.snapshot()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        try:
            body = load_body(await read_body(request, max_body_bytes))
            parsed = parse_request(body, default_max_tokens, max_tokens_cap=max_tokens_cap,
                                   model=name, video=video)
        except RequestError as exc:
            return fail(exc.status, exc.message, param=exc.param, code=exc.code)

        loop = asyncio.get_running_loop()
        if wakers.get(loop) is None:
            wakers.clear()  # one loop at a time (a test may start several servers, one by one)
            wakers[loop] = LoopWaker(loop)
        events = RequestEvents(wakers[loop])
        live.add(events)
        path = store.add(parsed.image, parsed.suffix)
        extra = tuple(store.add(data, suffix) for data, suffix in parsed.extra_images)
        job = Job(path=path, prompt=parsed.prompt, system_prompt=parsed.system_prompt,
                  params=parsed.params, max_pixels=max_pixels, extra_paths=extra,
                  sink=events.put, seed=parsed.params.seed, video=parsed.video)
        try:
            handle = bridge.submit(job)
        except RuntimeError as exc:
            for held in (path, *extra):
                store.release(held)
            return fail(503, str(exc), "server_error")
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        stamp = int(time.time())
        n = parsed.params.variants
        released: list[bool] = []

        def release() -> None:  # once per request, whichever way it ends
            if not released:
                released.append(True)
                handle.cancel()  # a client that hung up frees its slots (no-op once it ended)
                for held in (path, *extra):
                    store.release(held)

        try:
            # Wait for the first event: an unreadable image fails before any token, as a 400.
            backlog = await events.get()
        except BaseException:  # the client went away
            release()
            raise
        first = backlog[0]
        if first[0] not in ("delta", "done"):
            release()
            return ended(first)

        if not parsed.stream:
            try:
                while backlog[-1][0] == "delta":  # text does not matter here: wait for the end
                    backlog = await events.get(hold_s=60.0)
            finally:
                release()
            item = backlog[-1]
            if item[0] != "done":
                return ended(item)
            result: ImageCaptioned = item[1]
            reasons = _finish_reasons(result, parsed.params)
            choices = []
            for i, text in enumerate(result.variants):
                message: dict[str, Any] = {"role": "assistant", "content": text}
                if i == 0 and result.reasoning:
                    message["reasoning_content"] = result.reasoning
                choices.append({"index": i, "message": message, "finish_reason": reasons[i],
                                "logprobs": None})
            return {"id": completion_id, "object": "chat.completion", "created": stamp,
                    "model": name, "choices": choices, "usage": _usage(result),
                    "system_fingerprint": None}

        def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> str:
            data: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk",
                                    "created": stamp, "model": name, "choices": choices}
            if usage is not None:
                data["usage"] = usage
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        # Text chunks are the hot path: the same JSON as chunk() builds, from a fixed head.
        head = "data: " + json.dumps({"id": completion_id, "object": "chat.completion.chunk",
                                      "created": stamp, "model": name})[:-1] + ', "choices": [{"index": '

        def text_chunk(variant: int, reasoning: bool, text: str) -> str:
            key = "reasoning_content" if reasoning else "content"
            return (f'{head}{variant}, "delta": {{"{key}": {json.dumps(text, ensure_ascii=False)}}}, '
                    '"finish_reason": null, "logprobs": null}]}\n\n')

        def merge(held: list[list[Any]], variant: int, text: str, reasoning: bool) -> None:
            """Add text to the choice's last run if it is of the same kind (reasoning or not)."""
            for run in reversed(held):
                if run[0] == variant:
                    if run[1] == reasoning:
                        run[2].append(text)
                        return
                    break
            held.append([variant, reasoning, [text]])

        async def sse() -> AsyncIterator[str]:
            items = backlog
            held: list[list[Any]] = []  # [variant, reasoning, [texts]] not yet sent
            next_flush = 0.0  # the first text goes out at once
            clock = asyncio.get_running_loop().time
            try:
                out = [chunk([{"index": i, "delta": {"role": "assistant", "content": ""},
                               "finish_reason": None, "logprobs": None}]) for i in range(n)]
                while True:
                    final = None
                    for item in items:
                        if item[0] == "delta":
                            _, variant, text, reasoning = item
                            if text:
                                merge(held, variant, text, reasoning)
                        else:
                            final = item
                            break
                    now = clock()
                    if held and (final is not None or now >= next_flush):
                        out.extend(text_chunk(v, r, "".join(t)) for v, r, t in held)
                        held.clear()
                        next_flush = now + stream_interval_s
                    if final is not None:
                        release()  # before the last chunks: a client that saw [DONE] finds no file left
                        if final[0] == "done":
                            result = final[1]
                            reasons = _finish_reasons(result, parsed.params)
                            out.extend(chunk([{"index": i, "delta": {}, "finish_reason": reasons[i],
                                               "logprobs": None}]) for i in range(n))
                            if parsed.include_usage:
                                out.append(chunk([], _usage(result)))
                        else:
                            out.append(ended_chunk(final))
                        out.append("data: [DONE]\n\n")
                        yield "".join(out)
                        break
                    if out:
                        yield "".join(out)  # one write for everything ready
                        out = []
                    # Held text waits for its time (more may join it); the end comes at once.
                    items = await events.get(hold_s=next_flush - clock() if held else None)
            finally:
                release()

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return app


def build_parser() -> argparse.ArgumentParser:
    from ..cli import add_load_arguments, add_video_arguments
    from ..engine.models import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="caption-studio serve",
                                     description="Serve the caption engine over an OpenAI-compatible API.")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name, repo id or local folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default=None,
                        help="require 'Authorization: Bearer KEY'. A key on the command line is "
                             "visible to other users of this machine (ps, /proc): prefer the "
                             "environment variable CAPTION_STUDIO_API_KEY, the default")
    parser.add_argument("--served-model-name", default=None, help="the name /v1/models reports")
    parser.add_argument("--batch-size", type=int, default=None, help="engine slots: captions decoded at once (default auto: 8 on the CPU, from free "
                             "memory on GPUs); every request shares them with the others)")
    parser.add_argument("--stream-interval-ms", type=float, default=20.0,
                        help="send a streamed caption's new text at most this often, merged into "
                             "one chunk (default 20; 0 = as soon as the server gets to it)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default on a CPU device: all cores but one, left "
                             "to the HTTP side; on GPUs torch's default)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="default max_tokens")
    parser.add_argument("--max-tokens-cap", type=int, default=DEFAULT_MAX_TOKENS_CAP,
                        help="the most max_tokens a request may ask for; more is refused with a "
                             f"400 before anything is allocated (default {DEFAULT_MAX_TOKENS_CAP})")
    parser.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB,
                        help="the largest request body in MiB, images and videos included as "
                             "base64 (4/3 of their size); larger ones are refused with a 413 while "
                             f"reading (default {DEFAULT_MAX_BODY_MB})")
    parser.add_argument("--max-pixels", type=int, default=1024 * 1024)
    add_video_arguments(parser)
    add_load_arguments(parser)
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up caption")
    parser.add_argument("--log-level", default="info")
    return parser


def set_threads(engine: CaptionEngine, threads: int | None) -> None:
    """torch's intra-op threads: `threads`, or on a CPU device all cores but one.

    On the CPU the model's threads otherwise take every core and the HTTP side (parsing,
    streaming) preempts them mid-operation; measured on 2 cores, the default ran the tiny
    model 2.5x slower behind the server than one thread did.
    """
    import torch

    if threads is None:
        loaded = engine.loaded
        if loaded is None or getattr(loaded.device, "type", "cpu") != "cpu":
            return
        threads = max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(threads)


def serve_main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, load the model, serve until Ctrl+C. Returns the exit code."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    if args.batch_size is not None and args.batch_size < 1:
        sys.stderr.write("error: --batch-size must be a positive integer\n")
        return EXIT_USAGE
    if args.threads is not None and args.threads < 1:
        sys.stderr.write("error: --threads must be a positive integer\n")
        return EXIT_USAGE
    if args.stream_interval_ms < 0:
        sys.stderr.write("error: --stream-interval-ms must be >= 0\n")
        return EXIT_USAGE
    if not 1 <= args.max_new_tokens <= args.max_tokens_cap:
        sys.stderr.write(f"error: --max-new-tokens must be in [1, --max-tokens-cap "
                         f"({args.max_tokens_cap})]\n")
        return EXIT_USAGE
    if not args.max_body_mb > 0:
        sys.stderr.write("error: --max-body-mb must be > 0\n")
        return EXIT_USAGE
    try:
        import uvicorn  # noqa: F401
        import fastapi  # noqa: F401
    except ImportError as exc:
        sys.stderr.write(f"error: serving needs fastapi and uvicorn ({exc}): pip install fastapi uvicorn\n")
        return EXIT_USAGE
    from ..cli import load_options, video_options
    from ..engine import ModelLoadError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    api_key = args.api_key or os.environ.get("CAPTION_STUDIO_API_KEY") or None
    try:
        video = video_options(args)
        engine = CaptionEngine(args.model, options=load_options(args), runner=args.runner)
        engine.load()
        set_threads(engine, args.threads)
        if not args.no_warmup:
            engine.warmup()
    except (ModelLoadError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    bridge = EngineBridge(engine, batch_size=args.batch_size, video=video)
    store = ImageStore()
    app = create_app(engine, bridge, store, api_key=api_key, model_name=args.served_model_name,
                     default_max_tokens=args.max_new_tokens, max_pixels=args.max_pixels,
                     stream_interval_s=args.stream_interval_ms / 1000,
                     max_tokens_cap=args.max_tokens_cap,
                     max_body_bytes=int(args.max_body_mb * 2**20), video=video)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        log.warning("serving on %s without an API key: anyone who can reach it can use it", args.host)
    server = make_server(app, host=args.host, port=args.port, log_level=args.log_level)
    previous = signal.signal(signal.SIGTERM, _terminated)
    bridge.start()
    try:
        sys.stderr.write(f"serving {engine.spec.name} on http://{args.host}:{args.port}/v1\n")
        server.run()
    except (_Terminated, KeyboardInterrupt):  # uvicorn stops, then raises the signal again
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        bridge.stop()
        store.close()
    return EXIT_OK


#: After a stop signal, how long open connections may take before their tasks are cancelled
#: (requests end at once anyway: see `make_server`).
SHUTDOWN_GRACE_S = 3.0


class _Terminated(Exception):
    pass


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def make_server(app: Any, **config: Any) -> Any:
    """A `uvicorn.Server` for `app` whose graceful shutdown (SIGTERM, Ctrl+C) first ends every
    open request, a stream with an error chunk and `[DONE]`, instead of waiting for their
    captions; connections that still linger are cancelled after `SHUTDOWN_GRACE_S`."""
    import uvicorn

    config.setdefault("timeout_graceful_shutdown", SHUTDOWN_GRACE_S)
    server = uvicorn.Server(uvicorn.Config(app, **config))
    graceful = server.shutdown

    async def shutdown(sockets: Any = None) -> None:
        app.state.close_streams()
        await graceful(sockets)

    server.shutdown = shutdown
    return server


if __name__ == "__main__":
    raise SystemExit(serve_main())
