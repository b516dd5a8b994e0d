"""`caption-studio serve`: an OpenAI-compatible HTTP server around the local engine.

    python -m desktop_app serve --model ID_OR_PATH [--host 127.0.0.1] [--port 8000]
        [--api-key KEY | env CAPTION_STUDIO_API_KEY] [--batch-size N] [--device ...]

Endpoints: `GET /v1/models`, `POST /v1/chat/completions` (1 to 20 images per request as
`data:` URLs, asked about together in order, or one video as a `video_url` `data:video/...`
URL sampled as the `--video-*` flags say, plus optional text and system message; `stream`,
`n`, `max_tokens`, `temperature`, `top_p`, `seed`). Remote image URLs are refused: the server never uses the
network. Concurrent requests are captioned together (see dispatcher.py).
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime.

import argparse
import asyncio
import base64
import binascii
import json
import logging
import os
import re
import secrets
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Sequence

from ..engine import CaptionEngine, GenerationParams, ImageCaptioned
from .dispatcher import Dispatcher, ImageStore, Job

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

    def __init__(self, message: str, status: int = 400, param: str | None = None):
        super().__init__(message)
        self.message, self.status, self.param = message, status, param


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
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"the {media} is not valid base64: {exc}", param="messages") from None
    if not data:
        raise RequestError(f"the {media} is empty", param="messages")
    return data, suffix


def parse_request(body: Any, default_max_tokens: int) -> ParsedRequest:
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    messages = body.get("messages")
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
                elif kind == "image_url":
                    image_url = part.get("image_url")
                    url = image_url.get("url") if isinstance(image_url, dict) else image_url
                    if not isinstance(url, str):
                        raise RequestError("image_url.url must be a string", param="messages")
                    images.append(decode_image_url(url))
                elif kind == "video_url":  # as vLLM takes it: the frames are sampled here
                    video_url = part.get("video_url")
                    url = video_url.get("url") if isinstance(video_url, dict) else video_url
                    if not isinstance(url, str):
                        raise RequestError("video_url.url must be a string", param="messages")
                    images.append(decode_image_url(url, "video"))
                else:
                    raise RequestError(f"unsupported content part type {kind!r}", param="messages")
        else:
            raise RequestError(f"unsupported message role {role!r}: send one user turn with one "
                               "image (and an optional system message)", param="messages")
    if not 1 <= len(images) <= MAX_IMAGES:
        raise RequestError(f"send 1 to {MAX_IMAGES} images per request, not {len(images)}", param="messages")
    videos = sum(suffix in _VIDEO_SUFFIXES.values() for _, suffix in images)
    if videos and len(images) > 1:
        raise RequestError("a video must come alone: send one video, or 1 to "
                           f"{MAX_IMAGES} images, per request", param="messages")
    prompt = "\n".join(t for t in texts if t.strip()) or DEFAULT_PROMPT
    if body.get("stop"):
        raise RequestError("stop sequences are not supported", param="stop")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    try:
        params = GenerationParams(
            max_new_tokens=int(max_tokens),
            temperature=float(_or(body.get("temperature"), 0.0)),
            top_p=float(_or(body.get("top_p"), 1.0)),
            top_k=int(_or(body.get("top_k"), 0)),
            repetition_penalty=float(_or(body.get("repetition_penalty"), 1.0)),
            presence_penalty=float(_or(body.get("presence_penalty"), 0.0)),
            seed=int(_or(body.get("seed"), 0)),
            variants=int(_or(body.get("n"), 1)))
        params.validate()
    except (TypeError, ValueError) as exc:
        raise RequestError(f"bad parameter: {exc}") from None
    stream_options = body.get("stream_options") or {}
    return ParsedRequest(
        image=images[0][0], suffix=images[0][1],
        # The engine fills {filename} etc. in prompts; a client's braces stay literal.
        prompt=prompt.replace("{", "{{").replace("}", "}}"),
        system_prompt="\n".join(system) or None, params=params, stream=bool(body.get("stream")),
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        extra_images=tuple(images[1:]))


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


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
    unlike an `@app.middleware("http")` function, which pipes every chunk through a task)."""

    def __init__(self, app: Any, api_key: str, reject: Any):
        self.app, self.expected, self.reject = app, f"Bearer {api_key}".encode(), reject

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
            if not secrets.compare_digest(given, self.expected):
                await self.reject()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(engine: CaptionEngine, dispatcher: Dispatcher, store: ImageStore,
               api_key: str | None = None, model_name: str | None = None,
               default_max_tokens: int = 256, max_pixels: int | None = 1024 * 1024,
               stream_interval_s: float = 0.02) -> Any:
    """The FastAPI app; the caller starts and stops the dispatcher.

    `stream_interval_s`: a streamed request's text goes out at most this often, the deltas
    that came meanwhile merged into one chunk per choice (0: every event-loop turn, still
    merged); the first delta and the final chunks are never held back.
    """
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    name = model_name or engine.spec.name
    created = int(time.time())
    wakers: dict[asyncio.AbstractEventLoop, LoopWaker] = {}
    app = FastAPI(title="Caption Studio", version="0.1.0")
    app.state.dispatcher = dispatcher

    def fail(status: int, message: str, kind: str = "invalid_request_error",
             param: str | None = None, code: str | None = None) -> JSONResponse:
        return JSONResponse(error_body(message, kind, param, code), status_code=status)

    if api_key:
        app.add_middleware(_KeyCheck, api_key=api_key, reject=lambda: fail(
            401, "invalid or missing API key (Authorization: Bearer KEY)", "authentication_error",
            code="invalid_api_key"))

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": name, "object": "model", "created": created,
                                            "owned_by": "caption-studio"}]}

    @app.get("/v1/stats")
    async def stats() -> dict[str, Any]:
        s = dispatcher.stats
        out: dict[str, Any] = {"engine_jobs": s.engine_jobs, "batch_sizes": list(s.batch_sizes),
                               "images": s.images}
        runner_stats = getattr(getattr(engine, "runner", None), "stats", None)
        if runner_stats is not None:  # the engine's own counters (decode steps, seconds)
            out["runner"] = {k: getattr(runner_stats, k) for k in
                             ("prefill_s", "decode_s", "decode_steps", "tokens", "batches")}
        return out

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return fail(400, "the request body is not valid JSON")
        try:
            parsed = parse_request(body, default_max_tokens)
        except RequestError as exc:
            return fail(exc.status, exc.message, param=exc.param)

        loop = asyncio.get_running_loop()
        if wakers.get(loop) is None:
            wakers.clear()  # one loop at a time (a test may start several servers, one by one)
            wakers[loop] = LoopWaker(loop)
        events = RequestEvents(wakers[loop])
        # A sampled request's seed goes into its image's name (the engine seeds each row from
        # the path), so requests with different seeds still share one engine job.
        tag = f"s{parsed.params.seed}" if parsed.params.temperature > 0 else ""
        path = store.add(parsed.image, parsed.suffix, tag)
        extra = tuple(store.add(data, suffix) for data, suffix in parsed.extra_images)
        job = Job(path=path, prompt=parsed.prompt, system_prompt=parsed.system_prompt,
                  params=parsed.params, max_pixels=max_pixels, extra_paths=extra,
                  sink=events.put)
        try:
            dispatcher.submit(job)
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
                for held in (path, *extra):
                    store.release(held)

        try:
            # Wait for the first event: an unreadable image fails before any token, as a 400.
            backlog = await events.get()
        except BaseException:  # the client went away
            release()
            raise
        first = backlog[0]
        if first[0] in ("failed", "error"):
            release()
            if first[0] == "failed":
                return fail(400, f"cannot caption the image: {first[1]}", param="messages")
            return fail(500, first[1], "server_error")

        if not parsed.stream:
            try:
                while backlog[-1][0] == "delta":  # text does not matter here: wait for the end
                    backlog = await events.get(hold_s=60.0)
            finally:
                release()
            item = backlog[-1]
            if item[0] != "done":
                return fail(400 if item[0] == "failed" else 500, str(item[1]),
                            "invalid_request_error" if item[0] == "failed" else "server_error")
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
                            out.append(f"data: {json.dumps(error_body(str(final[1]), 'server_error'))}\n\n")
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
                        help="require 'Authorization: Bearer KEY' (default: env CAPTION_STUDIO_API_KEY)")
    parser.add_argument("--served-model-name", default=None, help="the name /v1/models reports")
    parser.add_argument("--batch-size", type=int, default=None, help="engine slots: captions decoded at once (default auto: 8 on the CPU, from free "
                             "memory on GPUs); a round of requests takes up to 4x this")
    parser.add_argument("--batch-window-ms", type=float, default=10.0,
                        help="how long to wait for more requests to batch together (default 10; "
                             "the wait restarts with each request that comes, up to 5x this)")
    parser.add_argument("--stream-interval-ms", type=float, default=20.0,
                        help="send a streamed caption's new text at most this often, merged into "
                             "one chunk (default 20; 0 = as soon as the server gets to it)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default on a CPU device: all cores but one, left "
                             "to the HTTP side; on GPUs torch's default)")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="default max_tokens")
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
    try:
        import uvicorn
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
    dispatcher = Dispatcher(engine, batch_size=args.batch_size, window_s=args.batch_window_ms / 1000,
                            video=video)
    store = ImageStore()
    app = create_app(engine, dispatcher, store, api_key=api_key, model_name=args.served_model_name,
                     default_max_tokens=args.max_new_tokens, max_pixels=args.max_pixels,
                     stream_interval_s=args.stream_interval_ms / 1000)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        log.warning("serving on %s without an API key: anyone who can reach it can use it", args.host)
    dispatcher.start()
    try:
        sys.stderr.write(f"serving {engine.spec.name} on http://{args.host}:{args.port}/v1\n")
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        dispatcher.stop()
        store.close()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(serve_main())
