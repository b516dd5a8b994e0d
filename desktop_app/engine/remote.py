"""`RemoteEngine`: caption through OpenAI-compatible servers (vLLM, SGLang, LM Studio, Ollama,
`caption-studio serve`) instead of a local model. No Qt; no model is loaded here.

It has the interface the CLI and the window use from `CaptionEngine`: `load(on_event)`,
`loaded.describe()`, `caption(request, cancel, on_event, root)`, `warmup`, `unload`.

Design:
- Each image is read with `load_image` (request's `max_pixels`), re-encoded in memory (PNG by
  default: lossless, so a greedy caption equals the local engine's) and sent as a base64 data
  URL to `/v1/chat/completions` with `stream: true`; deltas become `TokensStreamed` events.
- A video is checked with `probe_video` and sent whole as a `video_url` data URL (vLLM's
  format); the server samples its frames, asked for the request's `fps` and `max_frames` in
  vLLM's per-request `mm_processor_kwargs` (start/end and the frame pixel cap do not apply).
- Variants: one request per variant, each with `n: 1` and the variant's own seed (the one
  the local engine gives it), so variant k is reproducible alone and every server takes it
  (vLLM refuses greedy `n` > 1, Ollama ignores `n`). Greedy variants are one caption by
  definition: at temperature 0 one request is sent and its caption fills every variant.
- The requests run as asyncio tasks on a private event loop thread: one shared work queue,
  `concurrency` tasks per endpoint (one `httpx.AsyncClient` each). Cancelling cancels the
  tasks, which closes their connections at once, even one still waiting for its headers.
  Results come out of `caption()` in completion order.
- Events (`TokensStreamed`, `ImageCaptioned`, `ImageFailed`, `Progress`, `StageChanged`) are
  delivered to `on_event` on the caller's thread, from inside the `caption()` iterator, so the
  callback needs no lock (events flow while the caller iterates, as it does in the CLI and UI).
- Timeouts: `connect_timeout_s` to connect, `timeout_s` for each read (per chunk of a stream,
  so a long caption never times out while text flows).
- 429, 408, 5xx, timeouts, connection errors and broken streams (a chunk that is not JSON, a
  stream that ends early) are retried on the same endpoint, `retries` times, after
  `Retry-After` when the server sends one (seconds or an HTTP date), else exponential backoff
  from `backoff_s` (1, 2, 4 s by default). When an endpoint's retries run out its image goes
  back to the queue for the others and the endpoint is left out for `cooldown_s` (or as long
  as its Retry-After asks); the second time in a row, or on 401/403/404 or a 400 naming a
  request parameter (the same for every image), it is dropped for the rest of the run. Other
  4xx answers (a broken image) fail that image alone.
- When every endpoint is dropped, images that were attempted fail with "no endpoint
  reachable: ..."; images never attempted are left out of the results, so the caption store
  keeps them pending and the next run captions them.
- A retried attempt may already have streamed some deltas; the final caption is always the
  successful attempt's text.
- The API key: `api_key=` if given, else the environment variable `api_key_env`
  (default CAPTION_STUDIO_API_KEY), else the OS keyring (`keyring.get_password("caption-studio",
  endpoint)`) when the `keyring` package is installed. It is never written to settings files,
  and never sent over plain http to a host that is not this machine unless `allow_http_key`.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import io
import ipaddress
import json
import logging
import os
import queue
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

from .base import SingleJobEngine
from .events import (EventCallback, ImageCaptioned, ImageFailed, Progress, StageChanged,
                     TokensStreamed, ignore_event)
from .images import ImageLoadError, is_video_path, load_image
from .loading import ModelLoadError
from .prompts import render_prompt, split_reasoning, video_wording
from .types import CaptionRequest, GenerationParams, item_seeds

log = logging.getLogger(__name__)
DEFAULT_API_KEY_ENV = "CAPTION_STUDIO_API_KEY"
KEYRING_SERVICE = "caption-studio"
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DEAD_STATUSES = frozenset({401, 403, 404})
#: A 400 naming one of these is about the request, not the image: every image would get it.
_IMAGE_PARAMS = frozenset({None, "", "messages", "mm_processor_kwargs"})

DEFAULT_TIMEOUT_S = 120.0  # the longest wait for the server's next bytes
CONNECT_TIMEOUT_S = 5.0
DEFAULT_RETRIES = 3  # after the first attempt: 4 in all, backing off 1 + 2 + 4 s
BACKOFF_S = 1.0
MAX_WAIT_S = 60.0  # a longer Retry-After leaves the endpoint out instead of holding a request
COOLDOWN_S = 30.0  # how long an endpoint whose retries ran out is left out
MAX_ROUNDS = 2  # retries running out this many times in a row drop the endpoint for the run
#: What OpenAI-compatible servers take (OpenAI, vLLM and `serve` refuse temperatures above 2).
TEMPERATURE_RANGE = (0.0, 2.0)
PRESENCE_PENALTY_RANGE = (-2.0, 2.0)


def normalize_endpoint(url: str) -> str:
    """`http://host:8000`, `http://host:8000/`, `http://host:8000/v1` -> `http://host:8000/v1`."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        url = "http://" + url
    return url if url.endswith("/v1") else url + "/v1"


def parse_endpoints(text: str | Sequence[str]) -> list[str]:
    """Endpoints from a comma/space separated string or a list (empty parts dropped)."""
    parts = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    return [normalize_endpoint(p) for p in parts if p.strip()]


def resolve_api_key(endpoint: str, env_name: str = DEFAULT_API_KEY_ENV) -> str | None:
    """The key from the environment variable, else the OS keyring (if `keyring` is installed)."""
    key = os.environ.get(env_name) if env_name else None
    if key:
        return key
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, endpoint) or None
    except Exception as exc:  # noqa: BLE001 - a broken keyring backend means "no key"
        log.debug("keyring lookup failed: %s", exc)
        return None


def sends_in_clear(url: str) -> bool:
    """Whether a request to `url` crosses a network unencrypted: plain http to a host that
    is not this machine (loopback addresses and `localhost` stay on it)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return True


def check_params(params: GenerationParams) -> None:
    """Raise ValueError for settings OpenAI-compatible servers refuse, before anything is sent."""
    low, high = TEMPERATURE_RANGE
    if not low <= params.temperature <= high:
        raise ValueError(f"temperature must be in [{low:g}, {high:g}] with an endpoint "
                         f"(OpenAI-compatible servers refuse more), not {params.temperature:g}")
    low, high = PRESENCE_PENALTY_RANGE
    if not low <= params.presence_penalty <= high:
        raise ValueError(f"presence penalty must be in [{low:g}, {high:g}] with an endpoint, "
                         f"not {params.presence_penalty:g}")


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait a 429/503 asks for: `retry-after-ms`, or `Retry-After` in seconds or as an
    HTTP date; None when there is none (or it cannot be read)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


@dataclass(frozen=True)
class RemoteOptions:
    """How the window builds a `RemoteEngine` (compared to tell whether it must be rebuilt)."""

    endpoints: tuple[str, ...]
    model: str | None = None
    concurrency: int = 8
    api_key_env: str = DEFAULT_API_KEY_ENV
    timeout_s: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    allow_http_key: bool = False


@dataclass(frozen=True)
class RemoteModel:
    """What `RemoteEngine.loaded` holds: the served model name and the reachable endpoints."""

    name: str
    endpoints: tuple[str, ...]
    device: str = "remote"

    def describe(self) -> str:
        return f"{self.name} on {len(self.endpoints)} endpoint(s) ({', '.join(self.endpoints)})"


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _EndpointDown(Exception):
    """The endpoint cannot take this image now: left out for a while, or (`dead`) for the run."""

    def __init__(self, message: str, dead: bool = False, wait_s: float = 0.0):
        super().__init__(message)
        self.dead, self.wait_s = dead, wait_s


class _ImageRejected(Exception):
    pass


@dataclass
class _Answer:
    """One variant's finished stream."""

    text: str
    reasoning: str
    finish: str
    seed: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass
class _Job:
    key: int
    path: Path
    prompt: str
    max_tokens: int
    seeds: tuple[int, ...]  # one per variant
    extra: tuple[Path, ...] = ()  # more images sent with `path` (a multi-image comparison)
    extra_urls: tuple[str, ...] | None = None
    attempted: bool = False
    data_url: str | None = None
    answers: dict[int, _Answer] = field(default_factory=dict)  # variants done (kept when requeued)


@dataclass
class _Endpoint:
    url: str
    api_key: str | None
    dead: bool = False
    reason: str = ""
    out_until: float = 0.0  # left out of the pool until then (event-loop time)
    rounds: int = 0  # times in a row its retries ran out


class RemoteEngine(SingleJobEngine):
    """Captions requests on one or more OpenAI-compatible endpoints."""

    def __init__(self, endpoints: Sequence[str] | str, model: str | None = None,
                 api_key: str | None = None, api_key_env: str = DEFAULT_API_KEY_ENV,
                 concurrency: int = 8, retries: int = DEFAULT_RETRIES, backoff_s: float = BACKOFF_S,
                 timeout_s: float = DEFAULT_TIMEOUT_S, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 cooldown_s: float = COOLDOWN_S, image_format: str = "PNG",
                 allow_http_key: bool = False):
        super().__init__()
        self.endpoints = parse_endpoints(endpoints)
        if not self.endpoints:
            raise ValueError("no endpoint given")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if not timeout_s > 0 or not connect_timeout_s > 0:
            raise ValueError("the request timeout must be > 0 seconds")
        self.model = model
        self.api_key, self.api_key_env = api_key, api_key_env
        self.concurrency, self.retries = concurrency, retries
        self.backoff_s, self.cooldown_s = backoff_s, cooldown_s
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.allow_http_key = allow_http_key
        self.image_format = image_format.upper()
        self.options = RemoteOptions(tuple(self.endpoints), model, concurrency, api_key_env,
                                     timeout_s, retries, allow_http_key)
        self.loaded: RemoteModel | None = None
        self.unreached = 0  # images of the last job left pending because every endpoint died

    @classmethod
    def from_options(cls, options: RemoteOptions) -> "RemoteEngine":
        return cls(options.endpoints, model=options.model, api_key_env=options.api_key_env,
                   concurrency=options.concurrency, timeout_s=options.timeout_s,
                   retries=options.retries, allow_http_key=options.allow_http_key)

    # -- lifecycle -----------------------------------------------------------------------
    def _key(self, url: str) -> str | None:
        return self.api_key or resolve_api_key(url, self.api_key_env)

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _refuses_key(self, url: str) -> bool:
        return not self.allow_http_key and sends_in_clear(url) and bool(self._key(url))

    def load(self, on_event: EventCallback = ignore_event) -> RemoteModel:
        """Check each endpoint's `/v1/models`; keep the reachable ones; pick the model name."""
        if self.loaded is not None:
            return self.loaded
        import httpx

        on_event(StageChanged("loading", ", ".join(self.endpoints)))
        alive: list[str] = []
        served: list[str] = []
        errors: list[str] = []
        timeout = httpx.Timeout(min(self.timeout_s, 10.0), connect=self.connect_timeout_s)
        for url in self.endpoints:
            if self._refuses_key(url):
                errors.append(f"{url}: not sending the API key in clear text over plain http to "
                              "another machine (use https, or allow it with --allow-http-key)")
                continue
            try:
                r = httpx.get(url + "/models", headers=self._headers(self._key(url)), timeout=timeout)
                if r.status_code != 200:
                    errors.append(f"{url}: HTTP {r.status_code} {r.text[:200]}")
                    continue
                ids = [m.get("id") for m in r.json().get("data", []) if isinstance(m, dict)]
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            if self.model and ids and self.model not in ids:
                log.warning("%s does not list %r (it serves %s)", url, self.model, ", ".join(map(str, ids)))
            alive.append(url)
            served.extend(str(i) for i in ids if i)
        if not alive:
            raise ModelLoadError("no endpoint reachable: " + "; ".join(errors))
        if errors:
            log.warning("endpoints left out: %s", "; ".join(errors))
        name = self.model or (served[0] if served else None)
        if not name:
            raise ModelLoadError("the endpoints serve no model: pass the model name (--model)")
        self.loaded = RemoteModel(name, tuple(alive))
        on_event(StageChanged("loaded", self.loaded.describe()))
        return self.loaded

    def warmup(self, on_event: EventCallback = ignore_event) -> None:
        """Only checks the endpoints: the servers warm themselves up."""
        self.load(on_event)
        on_event(StageChanged("ready"))

    def unload(self) -> None:
        """Nothing to free; forgets the endpoint check so the next load checks again."""
        self.loaded = None

    # -- captioning ----------------------------------------------------------------------
    def _caption(self, loaded: RemoteModel, request: CaptionRequest, cancel: threading.Event,
                 on_event: EventCallback, root: Path | None) -> Iterator[ImageCaptioned | ImageFailed]:
        check_params(request.params)
        total = len(request.items)
        on_event(StageChanged("captioning", f"{total} images"))
        jobs = [_Job(k, Path(item.path), render_prompt(_worded(item.prompt or request.prompt, item.path),
                                                       Path(item.path), root),
                     item.max_new_tokens or request.params.max_new_tokens,
                     item_seeds(item, request.params), tuple(Path(p) for p in item.extra_paths))
                for k, item in enumerate(request.items)]
        v = request.video
        if (v.start is not None or v.end is not None) and any(is_video_path(j.path) for j in jobs):
            log.warning("the video start and end times are not applied on endpoints: the server "
                        "samples the whole video")
        out: queue.Queue[Any] = queue.Queue()
        run = _Run(self, loaded, request, jobs, out)
        run.start()
        started = time.perf_counter()
        done = failed = 0

        def progress() -> None:
            elapsed = time.perf_counter() - started
            finished = done + failed
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - finished) / (finished / elapsed) if finished and elapsed > 0 else None
            on_event(Progress(done, failed, total, rate, eta))

        def deliver(item: Any) -> Iterator[ImageCaptioned | ImageFailed]:
            nonlocal done, failed
            if isinstance(item, TokensStreamed):
                on_event(item)
                return
            if isinstance(item, ImageCaptioned):
                done += 1
            else:
                failed += 1
            on_event(item)
            progress()
            yield item

        try:
            while not cancel.is_set():
                try:
                    item = out.get(timeout=0.05)
                except queue.Empty:
                    continue
                if item is _END:
                    break
                yield from deliver(item)
            if cancel.is_set():  # stop at once; what had finished still comes out
                run.stop()
                run.join(2.0)
                for item in _drain(out):
                    if isinstance(item, (ImageCaptioned, ImageFailed)):
                        yield from deliver(item)
                return
            reasons = "; ".join(f"{ep.url}: {ep.reason}" for ep in run.endpoints if ep.dead)
            left = list(run.pending)
            self.unreached = sum(1 for j in left if not j.attempted)
            for job in left:
                if job.attempted:
                    yield from deliver(ImageFailed(job.path, f"no endpoint reachable: {reasons}"))
            if self.unreached:
                log.warning("%d images left pending: no endpoint reachable (%s)", self.unreached, reasons)
        finally:
            run.stop()
            run.join(2.0)
            on_event(StageChanged("idle", "cancelled" if cancel.is_set() else "finished"))

    def _encode_extra(self, job: _Job, max_pixels: int | None) -> ImageFailed | None:
        """Encode a comparison's other images; one unreadable file fails the whole group."""
        urls = []
        for path in job.extra:
            try:
                urls.append(self._encode(path, max_pixels))
            except ImageLoadError as exc:
                return ImageFailed(job.path, f"{path.name}: {exc.reason}")
            except Exception as exc:  # noqa: BLE001 - name the file, fail the group
                return ImageFailed(job.path, f"{path.name}: cannot read the image: {exc}")
        job.extra_urls = tuple(urls)
        return None

    def _encode(self, path: Path, max_pixels: int | None) -> str:
        if is_video_path(path):
            return _video_data_url(path)
        image = load_image(path, max_pixels)
        buf = io.BytesIO()
        fmt = "JPEG" if self.image_format in ("JPEG", "JPG") else "PNG"
        image.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {"compress_level": 1}))
        mime = "jpeg" if fmt == "JPEG" else "png"
        return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def _body(self, job: _Job, request: CaptionRequest, loaded: RemoteModel, seed: int) -> dict[str, Any]:
        """One variant's request: `n` 1 (the default, so it is left out) and its own seed."""
        p = request.params
        messages: list[dict[str, Any]] = []
        if request.system_prompt:
            messages.append({"role": "system", "content": request.system_prompt})
        video = is_video_path(job.path)
        kind = "video_url" if video else "image_url"  # vLLM's name for videos
        messages.append({"role": "user", "content": [
            {"type": kind, kind: {"url": job.data_url}},
            {"type": "text", "text": job.prompt}]})
        body: dict[str, Any] = {
            "model": loaded.name, "messages": messages, "max_tokens": job.max_tokens,
            "temperature": p.temperature, "top_p": p.top_p, "seed": seed, "stream": True,
            "stream_options": {"include_usage": True}}
        if p.top_k:
            body["top_k"] = p.top_k
        if p.repetition_penalty != 1.0:
            body["repetition_penalty"] = p.repetition_penalty
        if p.presence_penalty:
            body["presence_penalty"] = p.presence_penalty
        if video:  # vLLM hands these to the model's video processor (Qwen3-VL: fps, max_frames)
            body["mm_processor_kwargs"] = {"fps": request.video.fps,
                                           "max_frames": request.video.max_frames}
        if job.extra_urls:  # a comparison: its other images follow the first, before the text
            content = messages[-1]["content"]
            content[1:1] = [{"type": "image_url", "image_url": {"url": url}} for url in job.extra_urls]
        return body


_END = object()  # the run's last item on the out queue


def _drain(out: queue.Queue[Any]) -> Iterator[Any]:
    while True:
        try:
            item = out.get_nowait()
        except queue.Empty:
            return
        if item is not _END:
            yield item


class _Run:
    """One `caption()` job: its requests as tasks on a private event loop thread.

    `out` receives TokensStreamed, ImageCaptioned and ImageFailed from the loop thread, then
    `_END`. `stop()` (any thread) cancels every task: open streams and connections close at once.
    """

    def __init__(self, engine: RemoteEngine, loaded: RemoteModel, request: CaptionRequest,
                 jobs: list[_Job], out: queue.Queue[Any]):
        self.engine, self.loaded, self.request, self.out = engine, loaded, request, out
        self.pending: deque[_Job] = deque(jobs)
        self.inflight = 0
        self.endpoints = [_Endpoint(url, engine._key(url)) for url in loaded.endpoints]
        self.loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="remote-captions", daemon=True)
        self._changed: asyncio.Condition | None = None

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def stop(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:  # the loop has ended
            pass

    def _cancel(self) -> None:
        if self._task is not None and not self._cancelled:  # once: closing the clients may await
            self._cancelled = True
            self._task.cancel()

    def _run(self) -> None:
        try:
            self._task = self.loop.create_task(self._main())
            self.loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - a bug here must not hang the caller
            log.exception("the remote captioning loop failed")
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
            self.out.put(_END)

    async def _main(self) -> None:
        import httpx

        engine = self.engine
        self._changed = asyncio.Condition()
        timeout = httpx.Timeout(engine.timeout_s, connect=engine.connect_timeout_s)
        limits = httpx.Limits(max_connections=engine.concurrency,
                              max_keepalive_connections=engine.concurrency)
        clients = [httpx.AsyncClient(timeout=timeout, limits=limits,
                                     headers=engine._headers(ep.api_key)) for ep in self.endpoints]
        try:
            await asyncio.gather(*(self._worker(ep, client)
                                   for ep, client in zip(self.endpoints, clients)
                                   for _ in range(engine.concurrency)))
        finally:
            for client in clients:
                await client.aclose()

    # -- the shared queue ----------------------------------------------------------------
    async def _take(self, ep: _Endpoint) -> _Job | None:
        assert self._changed is not None
        async with self._changed:
            while True:
                if ep.dead or (not self.pending and self.inflight == 0):
                    return None
                wait = ep.out_until - self.loop.time()
                if self.pending and wait <= 0:
                    self.inflight += 1
                    return self.pending.popleft()
                try:
                    await asyncio.wait_for(self._changed.wait(), wait if wait > 0 else None)
                except asyncio.TimeoutError:
                    pass

    async def _finish(self, job: _Job, requeue: bool) -> None:
        assert self._changed is not None
        async with self._changed:
            self.inflight -= 1
            if requeue:
                self.pending.appendleft(job)
            self._changed.notify_all()

    async def _worker(self, ep: _Endpoint, client: Any) -> None:
        while (job := await self._take(ep)) is not None:
            requeue = False
            result: ImageCaptioned | ImageFailed | None = None
            try:
                result = await self._one(ep, client, job)
            except _EndpointDown as exc:
                self._leave_out(ep, exc)
                requeue = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never lose an image to a bug here
                log.exception("remote captioning failed")
                result = ImageFailed(job.path, f"remote captioning failed: {exc}")
            if result is not None:
                self.out.put(result)
            await self._finish(job, requeue)

    def _leave_out(self, ep: _Endpoint, exc: _EndpointDown) -> None:
        """An endpoint that cannot take images: out for a while, or for good."""
        if ep.dead:
            return
        now = self.loop.time()
        if exc.dead:
            ep.dead, ep.reason = True, str(exc)
            log.warning("endpoint %s is dropped for this run: %s", ep.url, exc)
            return
        if ep.out_until > now:  # another of its requests already left it out this round
            return
        ep.rounds += 1
        ep.reason = str(exc)
        if ep.rounds >= MAX_ROUNDS:
            ep.dead = True
            log.warning("endpoint %s is dropped for this run: %s", ep.url, exc)
            return
        wait = max(self.engine.cooldown_s, exc.wait_s)
        ep.out_until = now + wait
        log.warning("endpoint %s is left out for %.0f s: %s", ep.url, wait, exc)

    # -- one image -----------------------------------------------------------------------
    async def _one(self, ep: _Endpoint, client: Any, job: _Job) -> ImageCaptioned | ImageFailed:
        """Caption one image on `ep` (each variant it still lacks); raises _EndpointDown."""
        engine, max_pixels = self.engine, self.request.max_pixels
        if job.data_url is None:
            try:
                job.data_url = await asyncio.to_thread(engine._encode, job.path, max_pixels)
            except ImageLoadError as exc:
                return ImageFailed(job.path, exc.reason)
            except Exception as exc:  # noqa: BLE001 - an unreadable file fails alone
                return ImageFailed(job.path, f"cannot read the image: {exc}")
        if job.extra and job.extra_urls is None:
            failed = await asyncio.to_thread(engine._encode_extra, job, max_pixels)
            if failed is not None:
                return failed
        params = self.request.params
        asked = 1 if params.temperature == 0 else params.variants  # greedy variants are one caption
        for variant in range(asked):
            if variant in job.answers:
                continue
            try:
                job.answers[variant] = await self._ask(ep, client, job, variant)
            except _ImageRejected as exc:
                return ImageFailed(job.path, str(exc))
        ep.rounds = 0
        return self._result(ep, job)

    async def _ask(self, ep: _Endpoint, client: Any, job: _Job, variant: int) -> _Answer:
        """One variant's request, retried on transient errors; raises _EndpointDown."""
        import httpx

        engine = self.engine
        body = engine._body(job, self.request, self.loaded, job.seeds[variant])
        last, wait = "", 0.0
        for attempt in range(engine.retries + 1):
            if attempt:
                if wait > MAX_WAIT_S:
                    raise _EndpointDown(f"{last} (it asks to wait {wait:.0f} s)", wait_s=wait)
                await asyncio.sleep(wait)
            if ep.dead or ep.out_until > self.loop.time():  # another request gave up on it meanwhile
                raise _EndpointDown(ep.reason or last or "left out")
            job.attempted = True
            retry_after = None
            try:
                return await self._stream(ep, client, job, body, variant)
            except _Retryable as exc:
                last, retry_after = str(exc), exc.retry_after
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                last = f"{type(exc).__name__}: {exc}".rstrip(": ")
            wait = retry_after if retry_after is not None else \
                engine.backoff_s * 2 ** attempt * (1 + 0.25 * random.random())
            log.info("%s: attempt %d for %s failed: %s", ep.url, attempt + 1, job.path.name, last)
        raise _EndpointDown(f"{engine.retries + 1} attempts failed, last: {last}")

    async def _stream(self, ep: _Endpoint, client: Any, job: _Job, body: dict[str, Any],
                      variant: int) -> _Answer:
        text, reasoning = [], []
        finish: str | None = None
        usage: dict[str, Any] = {}
        started = time.perf_counter()
        async with client.stream("POST", ep.url + "/chat/completions", json=body) as response:
            status = response.status_code
            if status != 200:
                raw = await _read_some(response, 4096)
                message = _error_message(raw) or f"HTTP {status}"
                if status in RETRY_STATUSES:
                    raise _Retryable(f"HTTP {status}: {message}", retry_after_s(response.headers))
                if status in DEAD_STATUSES:
                    raise _EndpointDown(f"HTTP {status}: {message}", dead=True)
                if status == 400 and _error_param(raw) not in _IMAGE_PARAMS:
                    raise _EndpointDown(f"the server refused the request (HTTP 400): {message}", dead=True)
                raise _ImageRejected(f"the server refused the image (HTTP {status}): {message}")
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = _chunk(data)
                if chunk.get("usage"):
                    usage = chunk["usage"] if isinstance(chunk["usage"], dict) else {}
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    if not isinstance(delta, dict):
                        raise _Retryable(f"the server sent a broken stream chunk: {data[:120]!r}")
                    for name, is_reasoning in (("reasoning_content", True), ("reasoning", True),
                                               ("content", False)):
                        piece = delta.get(name)
                        if piece and isinstance(piece, str):
                            (reasoning if is_reasoning else text).append(piece)
                            self.out.put(TokensStreamed(job.path, piece, variant, is_reasoning))
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
        if finish is None:
            raise _Retryable("the stream ended before the caption was finished")
        return _Answer("".join(text), "".join(reasoning), finish, int(body["seed"]),
                       _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"),
                       time.perf_counter() - started)

    def _result(self, ep: _Endpoint, job: _Job) -> ImageCaptioned:
        request = self.request
        n = request.params.variants
        answers = [job.answers.get(v) or job.answers[0] for v in range(n)]  # greedy: one for all
        parts = [_split(a) for a in answers]
        first = answers[0]
        distinct = list({id(a): a for a in answers}.values())
        metadata = {
            "model": self.loaded.name, "endpoint": ep.url, "prompt": request.prompt,
            "system_prompt": request.system_prompt, "params": request.params.as_dict(),
            "seeds": [a.seed for a in answers], "finish_reasons": [a.finish for a in answers],
            "prompt_tokens": first.prompt_tokens, "time": time.time(), "device": "remote",
        }
        reasoning, caption = parts[0]
        return ImageCaptioned(
            path=job.path, caption=caption, variants=tuple(a for _, a in parts),
            truncated=first.finish == "length", reasoning=reasoning,
            seconds=sum(a.seconds for a in distinct),
            tokens=sum(a.completion_tokens for a in distinct), metadata=metadata,
            finish=first.finish, reasoning_cut=first.finish == "length" and bool(reasoning)
            and not caption.strip())


def _split(answer: _Answer) -> tuple[str, str]:
    """(reasoning, caption) of an answer: the server's reasoning field, else `<think>` text."""
    text = answer.text
    if "</think>" in text:
        inline, text = split_reasoning(text)
    elif text.lstrip().startswith("<think>"):  # reasoning that never closed: no caption yet
        inline, text = text.lstrip()[len("<think>"):].strip(), ""
    else:
        inline = ""
    return answer.reasoning.strip() or inline, text


def _chunk(data: str) -> dict[str, Any]:
    """A stream chunk's JSON; a broken or error chunk is a failed attempt (retried)."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise _Retryable(f"the server sent a broken stream chunk: {data[:120]!r}") from None
    if not isinstance(chunk, dict):
        raise _Retryable(f"the server sent a broken stream chunk: {data[:120]!r}")
    if "error" in chunk:
        raise _Retryable(f"error in the stream: {_error_message(data)}")
    return chunk


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _read_some(response: Any, limit: int) -> str:
    """At most about `limit` bytes of an error body (a server may send a huge page)."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit].decode("utf-8", "replace")


def _error_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error_message(text: str) -> str:
    data = _error_json(text)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message", err))
        if err:
            return str(err)
        if "detail" in data:
            return str(data["detail"])
    return text.strip()[:500]


def _error_param(text: str) -> str | None:
    """The `param` an OpenAI-style error body names (None when it names none)."""
    data = _error_json(text)
    err = data.get("error") if isinstance(data, dict) else None
    param = err.get("param") if isinstance(err, dict) else None
    return param if isinstance(param, str) else None


#: Videos go to the server whole (it samples the frames); bigger files fail alone here.
MAX_VIDEO_BYTES = 256 * 1024 * 1024
_VIDEO_MIME = {".mp4": "mp4", ".mov": "quicktime", ".mkv": "x-matroska", ".webm": "webm", ".avi": "x-msvideo"}


def _worded(prompt: str, path: Path | str) -> str:
    return video_wording(prompt) if is_video_path(path) else prompt


def _video_data_url(path: Path) -> str:
    """A video file as a `data:video/...;base64` URL, after checking it has a decodable stream."""
    from .video import VideoLoadError, probe_video

    probe_video(path)  # VideoLoadError (an ImageLoadError) with the reason for a bad file
    size = path.stat().st_size
    if size > MAX_VIDEO_BYTES:
        raise VideoLoadError(path, f"too large to send to an endpoint ({size / 2**20:.0f} MiB, "
                                   f"limit {MAX_VIDEO_BYTES / 2**20:.0f} MiB)")
    mime = _VIDEO_MIME.get(path.suffix.lower(), "mp4")
    return f"data:video/{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
