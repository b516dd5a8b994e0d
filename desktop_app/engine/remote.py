"""`RemoteEngine`: caption through OpenAI-compatible servers (vLLM, SGLang, LM Studio, Ollama,
`caption-studio serve`) instead of a local model. No Qt; no model is loaded here.

It has the interface the CLI and the window use from `CaptionEngine`: `load(on_event)`,
`loaded.describe()`, `caption(request, cancel, on_event, root)`, `warmup`, `unload`.

Design:
- Each image is read with `load_image` (request's `max_pixels`), re-encoded in memory (PNG by
  default: lossless, so a greedy caption equals the local engine's) and sent as a base64 data
  URL to `/v1/chat/completions` with `stream: true`; deltas become `TokensStreamed` events.
- A video is checked with `probe_video` and sent whole as a `video_url` data URL (vLLM's
  format; the server samples its frames, so the request's video options do not apply).
- One shared work queue; each endpoint runs `concurrency` worker threads (one `httpx.Client`
  per endpoint). Results come out of `caption()` in completion order.
- Events (`TokensStreamed`, `ImageCaptioned`, `ImageFailed`, `Progress`, `StageChanged`) are
  delivered to `on_event` on the caller's thread, from inside the `caption()` iterator, so the
  callback needs no lock (events flow while the caller iterates, as it does in the CLI and UI).
- 429, 408, 5xx, timeouts and connection errors are retried on the same endpoint with
  exponential backoff (`max_attempts`, `backoff_s`). An endpoint whose retries run out (or that
  answers 401/403/404) is marked dead; the image goes back to the front of the queue for the
  other endpoints. Other 4xx answers (a broken image) fail that image alone.
- When every endpoint is dead, images that were attempted fail with "no endpoint reachable:
  ..."; images never attempted are left out of the results, so the caption store keeps them
  pending and the next run captions them.
- A retried attempt may already have streamed some deltas; the final caption is always the
  successful attempt's text.
- `cancel` closes the open streams and stops the workers; finished captions are already yielded.
- The API key: `api_key=` if given, else the environment variable `api_key_env`
  (default CAPTION_STUDIO_API_KEY), else the OS keyring (`keyring.get_password("caption-studio",
  endpoint)`) when the `keyring` package is installed. It is never written to settings files.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from .base import SingleJobEngine
from .events import (EventCallback, ImageCaptioned, ImageFailed, Progress, StageChanged,
                     TokensStreamed, ignore_event)
from .images import ImageLoadError, is_video_path, load_image
from .loading import ModelLoadError
from .prompts import render_prompt, split_reasoning, video_wording
from .types import CaptionRequest, row_seed

log = logging.getLogger(__name__)
DEFAULT_API_KEY_ENV = "CAPTION_STUDIO_API_KEY"
KEYRING_SERVICE = "caption-studio"
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DEAD_STATUSES = frozenset({401, 403, 404})


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


@dataclass(frozen=True)
class RemoteOptions:
    """How the window builds a `RemoteEngine` (compared to tell whether it must be rebuilt)."""

    endpoints: tuple[str, ...]
    model: str | None = None
    concurrency: int = 8
    api_key_env: str = DEFAULT_API_KEY_ENV


@dataclass(frozen=True)
class RemoteModel:
    """What `RemoteEngine.loaded` holds: the served model name and the reachable endpoints."""

    name: str
    endpoints: tuple[str, ...]
    device: str = "remote"

    def describe(self) -> str:
        return f"{self.name} on {len(self.endpoints)} endpoint(s) ({', '.join(self.endpoints)})"


class _Retryable(Exception):
    pass


class _EndpointDead(Exception):
    pass


class _ImageRejected(Exception):
    pass


@dataclass
class _Job:
    key: int
    path: Path
    prompt: str
    max_tokens: int
    extra: tuple[Path, ...] = ()  # more images sent with `path` (a multi-image comparison)
    extra_urls: tuple[str, ...] | None = None
    attempted: bool = False
    data_url: str | None = None


@dataclass
class _Endpoint:
    url: str
    api_key: str | None
    dead: bool = False
    reason: str = ""
    responses: set[Any] = field(default_factory=set)


class RemoteEngine(SingleJobEngine):
    """Captions requests on one or more OpenAI-compatible endpoints."""

    def __init__(self, endpoints: Sequence[str] | str, model: str | None = None,
                 api_key: str | None = None, api_key_env: str = DEFAULT_API_KEY_ENV,
                 concurrency: int = 8, max_attempts: int = 4, backoff_s: float = 0.5,
                 timeout_s: float = 300.0, image_format: str = "PNG"):
        super().__init__()
        self.endpoints = parse_endpoints(endpoints)
        if not self.endpoints:
            raise ValueError("no endpoint given")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.api_key, self.api_key_env = api_key, api_key_env
        self.concurrency, self.max_attempts = concurrency, max_attempts
        self.backoff_s, self.timeout_s = backoff_s, timeout_s
        self.image_format = image_format.upper()
        self.options = RemoteOptions(tuple(self.endpoints), model, concurrency, api_key_env)
        self.loaded: RemoteModel | None = None
        self.unreached = 0  # images of the last job left pending because every endpoint died

    @classmethod
    def from_options(cls, options: RemoteOptions) -> "RemoteEngine":
        return cls(options.endpoints, model=options.model, api_key_env=options.api_key_env,
                   concurrency=options.concurrency)

    # -- lifecycle -----------------------------------------------------------------------
    def _key(self, url: str) -> str | None:
        return self.api_key or resolve_api_key(url, self.api_key_env)

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def load(self, on_event: EventCallback = ignore_event) -> RemoteModel:
        """Check each endpoint's `/v1/models`; keep the reachable ones; pick the model name."""
        if self.loaded is not None:
            return self.loaded
        import httpx

        on_event(StageChanged("loading", ", ".join(self.endpoints)))
        alive: list[str] = []
        served: list[str] = []
        errors: list[str] = []
        for url in self.endpoints:
            try:
                r = httpx.get(url + "/models", headers=self._headers(self._key(url)), timeout=10)
                if r.status_code != 200:
                    errors.append(f"{url}: HTTP {r.status_code} {r.text[:200]}")
                    continue
                ids = [m.get("id") for m in r.json().get("data", []) if isinstance(m, dict)]
            except (httpx.HTTPError, ValueError) as exc:
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
        import httpx

        total = len(request.items)
        on_event(StageChanged("captioning", f"{total} images"))
        jobs = [_Job(k, Path(item.path), render_prompt(_worded(item.prompt or request.prompt, item.path),
                                                       Path(item.path), root),
                     item.max_new_tokens or request.params.max_new_tokens)
                for k, item in enumerate(request.items)]
        for job, item in zip(jobs, request.items):  # a comparison sends its other images too
            job.extra = tuple(Path(p) for p in item.extra_paths)
        pending: deque[_Job] = deque(jobs)
        state = {"inflight": 0}
        cond = threading.Condition()
        out: queue.Queue[Any] = queue.Queue()
        endpoints = [_Endpoint(url, self._key(url)) for url in loaded.endpoints]
        stop = threading.Event()  # cancel, or the caller stopped iterating

        def take(ep: _Endpoint) -> _Job | None:
            with cond:
                while True:
                    if stop.is_set() or cancel.is_set() or ep.dead:
                        return None
                    if pending:
                        state["inflight"] += 1
                        return pending.popleft()
                    if state["inflight"] == 0:
                        return None
                    cond.wait(0.1)

        def finish(job: _Job, requeue: bool) -> None:
            with cond:
                state["inflight"] -= 1
                if requeue:
                    pending.appendleft(job)
                cond.notify_all()

        def worker(ep: _Endpoint, client: Any) -> None:
            while True:
                job = take(ep)
                if job is None:
                    return
                requeue = False
                try:
                    out.put(self._one(ep, client, job, request, loaded, cancel, stop, out))
                except _EndpointDead as exc:
                    with cond:
                        if not ep.dead:
                            ep.dead, ep.reason = True, str(exc)
                            log.warning("endpoint %s is dead: %s", ep.url, exc)
                    requeue = True
                except _Cancelled:
                    requeue = True
                except Exception as exc:  # noqa: BLE001 - never lose an image to a bug here
                    if cancel.is_set() or stop.is_set():  # a stream closed under it
                        requeue = True
                        continue
                    log.exception("remote captioning failed")
                    out.put(ImageFailed(job.path, f"remote captioning failed: {exc}"))
                finally:
                    finish(job, requeue)

        timeout = httpx.Timeout(self.timeout_s, connect=10.0)
        clients = [httpx.Client(timeout=timeout, headers=self._headers(ep.api_key),
                                limits=httpx.Limits(max_connections=self.concurrency))
                   for ep in endpoints]
        threads = [threading.Thread(target=worker, args=(ep, client), daemon=True,
                                    name=f"remote-{i}-{n}")
                   for i, (ep, client) in enumerate(zip(endpoints, clients))
                   for n in range(self.concurrency)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        done = failed = 0

        def progress() -> None:
            elapsed = time.perf_counter() - started
            finished = done + failed
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - finished) / (finished / elapsed) if finished and elapsed > 0 else None
            on_event(Progress(done, failed, total, rate, eta))

        try:
            while True:
                if cancel.is_set():
                    stop.set()
                    _close_all(endpoints)
                try:
                    item = out.get(timeout=0.05)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and out.empty():
                        break
                    continue
                if isinstance(item, TokensStreamed):
                    on_event(item)
                    continue
                if isinstance(item, ImageCaptioned):
                    done += 1
                else:
                    failed += 1
                on_event(item)
                progress()
                yield item
            if not cancel.is_set():
                reasons = "; ".join(f"{ep.url}: {ep.reason}" for ep in endpoints if ep.dead)
                left = list(pending)
                self.unreached = sum(1 for j in left if not j.attempted)
                for job in left:
                    if job.attempted:
                        failed += 1
                        result = ImageFailed(job.path, f"no endpoint reachable: {reasons}")
                        on_event(result)
                        progress()
                        yield result
                if self.unreached:
                    log.warning("%d images left pending: no endpoint reachable (%s)", self.unreached, reasons)
        finally:
            stop.set()
            _close_all(endpoints)
            for t in threads:
                t.join(5)
            for client in clients:
                client.close()
            on_event(StageChanged("idle", "cancelled" if cancel.is_set() else "finished"))

    def _one(self, ep: _Endpoint, client: Any, job: _Job, request: CaptionRequest, loaded: RemoteModel,
             cancel: threading.Event, stop: threading.Event, out: queue.Queue[Any]) -> ImageCaptioned | ImageFailed:
        """Caption one image on `ep`, retrying transient errors; raises _EndpointDead."""
        import httpx

        if job.data_url is None:
            try:
                job.data_url = self._encode(job.path, request.max_pixels)
            except ImageLoadError as exc:
                return ImageFailed(job.path, exc.reason)
            except Exception as exc:  # noqa: BLE001 - an unreadable file fails alone
                return ImageFailed(job.path, f"cannot read the image: {exc}")
        if job.extra and job.extra_urls is None:
            failed = self._encode_extra(job, request.max_pixels)
            if failed is not None:
                return failed
        body = self._body(job, request, loaded)
        last = ""
        for attempt in range(self.max_attempts):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                if cancel.wait(delay) or stop.is_set():
                    raise _Cancelled()
            if cancel.is_set() or stop.is_set():
                raise _Cancelled()
            job.attempted = True
            try:
                return self._stream(ep, client, job, request, body, loaded, out, cancel, stop)
            except _Retryable as exc:
                last = str(exc)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if cancel.is_set() or stop.is_set():
                    raise _Cancelled() from None
                last = f"{type(exc).__name__}: {exc}"
            except _ImageRejected as exc:
                return ImageFailed(job.path, str(exc))
            if ep.dead:  # another worker gave up on it meanwhile
                raise _EndpointDead(ep.reason or last)
            log.info("%s: attempt %d for %s failed: %s", ep.url, attempt + 1, job.path.name, last)
        raise _EndpointDead(f"{self.max_attempts} attempts failed, last: {last}")

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

    def _body(self, job: _Job, request: CaptionRequest, loaded: RemoteModel) -> dict[str, Any]:
        p = request.params
        messages: list[dict[str, Any]] = []
        if request.system_prompt:
            messages.append({"role": "system", "content": request.system_prompt})
        kind = "video_url" if is_video_path(job.path) else "image_url"  # vLLM's name for videos
        messages.append({"role": "user", "content": [
            {"type": kind, kind: {"url": job.data_url}},
            {"type": "text", "text": job.prompt}]})
        body: dict[str, Any] = {
            "model": loaded.name, "messages": messages, "max_tokens": job.max_tokens,
            "temperature": p.temperature, "top_p": p.top_p,
            "seed": row_seed(p.seed, job.path, 0), "n": p.variants, "stream": True,
            "stream_options": {"include_usage": True}}
        if p.top_k:
            body["top_k"] = p.top_k
        if p.repetition_penalty != 1.0:
            body["repetition_penalty"] = p.repetition_penalty
        if p.presence_penalty:
            body["presence_penalty"] = p.presence_penalty
        if job.extra_urls:  # a comparison: its other images follow the first, before the text
            content = messages[-1]["content"]
            content[1:1] = [{"type": "image_url", "image_url": {"url": url}} for url in job.extra_urls]
        return body

    def _stream(self, ep: _Endpoint, client: Any, job: _Job, request: CaptionRequest,
                body: dict[str, Any], loaded: RemoteModel, out: queue.Queue[Any],
                cancel: threading.Event, stop: threading.Event) -> ImageCaptioned:
        n = request.params.variants
        texts, reasoning = [""] * n, [""] * n
        reasons: list[str | None] = [None] * n
        usage: dict[str, Any] = {}
        started = time.perf_counter()
        with client.stream("POST", ep.url + "/chat/completions", json=body) as response:
            ep.responses.add(response)
            try:
                status = response.status_code
                if status != 200:
                    text = response.read().decode("utf-8", "replace")[:500]
                    message = _error_message(text) or f"HTTP {status}"
                    if status in RETRY_STATUSES:
                        raise _Retryable(f"HTTP {status}: {message}")
                    if status in DEAD_STATUSES:
                        raise _EndpointDead(f"HTTP {status}: {message}")
                    raise _ImageRejected(f"the server refused the image (HTTP {status}): {message}")
                for line in response.iter_lines():
                    if cancel.is_set() or stop.is_set():
                        raise _Cancelled()
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise _Retryable(f"error in the stream: {_error_message(data)}")
                    if chunk.get("usage"):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or []:
                        i = int(choice.get("index", 0))
                        if not 0 <= i < n:
                            continue
                        delta = choice.get("delta") or {}
                        for name, is_reasoning in (("reasoning_content", True), ("reasoning", True),
                                                   ("content", False)):
                            piece = delta.get(name)
                            if piece:
                                if is_reasoning:
                                    reasoning[i] += piece
                                else:
                                    texts[i] += piece
                                out.put(TokensStreamed(job.path, piece, i, is_reasoning))
                        if choice.get("finish_reason"):
                            reasons[i] = choice["finish_reason"]
            finally:
                ep.responses.discard(response)
        if any(r is None for r in reasons):
            raise _Retryable("the stream ended before every caption was finished")
        parts = []
        for i in range(n):
            r, a = split_reasoning(texts[i]) if "</think>" in texts[i] else ("", texts[i])
            parts.append(((reasoning[i].strip() or r), a))
        metadata = {
            "model": loaded.name, "endpoint": ep.url, "prompt": request.prompt,
            "system_prompt": request.system_prompt, "params": request.params.as_dict(),
            "seeds": [body["seed"]], "finish_reasons": reasons,
            "prompt_tokens": int(usage.get("prompt_tokens", 0) or 0), "time": time.time(),
            "device": "remote",
        }
        return ImageCaptioned(
            path=job.path, caption=parts[0][1], variants=tuple(a for _, a in parts),
            truncated=reasons[0] == "length", reasoning=parts[0][0],
            seconds=time.perf_counter() - started,
            tokens=int(usage.get("completion_tokens", 0) or 0), metadata=metadata)


class _Cancelled(Exception):
    pass


def _close_all(endpoints: list[_Endpoint]) -> None:
    for ep in endpoints:
        for response in list(ep.responses):
            try:
                response.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race; it is closed
                pass


def _error_message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("message", err))
        if err:
            return str(err)
        if "detail" in data:
            return str(data["detail"])
    return text.strip()


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
