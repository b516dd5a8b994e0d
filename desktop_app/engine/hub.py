"""The Hugging Face cache and downloads of Qwen3-VL checkpoints (no Qt).

`cached_models` says which checkpoints are already in the standard cache and whether each one
can load; `download_model` fetches the files a checkpoint needs, one by one, reporting bytes
through a plain callback and stopping between chunks when a `threading.Event` is set.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import huggingface_hub
from huggingface_hub import constants, errors
from huggingface_hub.utils import tqdm as hf_tqdm

from .models import KNOWN_MODELS

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]  # (done_bytes, total_bytes, current_file)

# What a checkpoint needs to run: configs, tokenizer, chat template and safetensors weights.
NEEDED_SUFFIXES = (".json", ".jinja", ".txt", ".safetensors")
# Folders of other formats some repos carry beside the transformers checkpoint.
SKIPPED_FOLDERS = frozenset({"original", "onnx", "gguf", "openvino", "coreml", "mlx"})
INDEX_NAME = "model.safetensors.index.json"
OFFLINE_HINT = "download it on a connected machine or choose a local folder"


#: How long the network check waits for the hub (name lookup and TCP connect together).
PROBE_TIMEOUT_S = 2.5


def hub_address() -> tuple[str, int]:
    """Where a request to the hub first connects: the HTTPS proxy when one applies, else the
    hub's host (HF_ENDPOINT, e.g. a mirror; huggingface.co by default) and port."""
    endpoint = urllib.parse.urlsplit(constants.ENDPOINT)
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(endpoint.scheme or "https") or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    return host, port


def hub_reachable(address: tuple[str, int] | None = None, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether one TCP connection to the hub (see `hub_address`) opens within `timeout` seconds.

    The name lookup counts too: it runs in a daemon thread, so a resolver that hangs costs
    `timeout`, not its own minute. Called once before the first hub request of a load, it
    replaces huggingface_hub's retries (about 23 s per file, minutes per model) with one quick
    answer. Nothing is sent: the connection closes as soon as it is open.

    Args:
        address: (host, port) to try; `hub_address()` when None (tests pass a loopback port).
        timeout: Seconds to wait in all.
    """
    host, port = address or hub_address()
    outcome: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(True)
        except OSError as exc:
            log.debug("hub check: cannot connect to %s:%s: %s", host, port, exc)
            outcome.append(False)

    started = time.perf_counter()
    thread = threading.Thread(target=connect, name="hub-check", daemon=True)
    thread.start()
    thread.join(timeout)
    reachable = bool(outcome and outcome[0])
    log.debug("hub check %s:%s: %s in %.2f s", host, port, "reachable" if reachable else "unreachable",
              time.perf_counter() - started)
    return reachable


class DownloadError(RuntimeError):
    """A download could not finish; the message is meant for a person."""


class DownloadCancelled(DownloadError):
    """The download was cancelled through its event; files already complete stay in the cache."""


@dataclass(frozen=True)
class CachedModel:
    """A Qwen3-VL repo found in the Hugging Face cache.

    Attributes:
        repo_id: For example "Qwen/Qwen3-VL-2B-Instruct".
        complete: Whether the snapshot can load: config.json plus its safetensors weights
            (every shard the index names, when there is an index).
        size_bytes: Size of the repo on disk (all its revisions).
        snapshot_path: The snapshot folder (the one "main" points to when there is one).
    """

    repo_id: str
    complete: bool
    size_bytes: int
    snapshot_path: Path


def default_cache_dir() -> Path:
    """The hub cache folder, read now (huggingface_hub reads its environment once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def is_qwen3_vl_repo(repo_id: str) -> bool:
    """Whether a repo is one the app can offer: a known model or any id naming Qwen3-VL."""
    known = {spec.source.lower() for spec in KNOWN_MODELS.values()}
    return repo_id.lower() in known or "qwen3-vl" in repo_id.lower()


def _snapshot_complete(files: Iterable[str], snapshot: Path) -> bool:
    """Whether a snapshot holding `files` (relative POSIX names) can be loaded."""
    names = set(files)
    if "config.json" not in names:
        return False
    if INDEX_NAME in names:
        try:
            index = json.loads((snapshot / INDEX_NAME).read_text(encoding="utf-8"))
            shards = set(index.get("weight_map", {}).values())
        except (OSError, ValueError, AttributeError):
            return False
        return bool(shards) and shards <= names
    return any(name.endswith(".safetensors") for name in names)


def check_local_checkpoint(folder: str | os.PathLike[str]) -> str | None:
    """Check that a folder holds a loadable checkpoint.

    Args:
        folder: The folder a user picked.

    Returns:
        None when it holds config.json and safetensors weights, else what is wrong, in words.
    """
    path = Path(folder)
    if not path.is_dir():
        return f"{path} is not a folder."
    names = {p.name for p in path.iterdir() if p.is_file()}
    if "config.json" not in names:
        return f"{path.name} holds no config.json: it is not a model checkpoint folder."
    if not any(n.endswith(".safetensors") for n in names):
        if any(n.endswith((".bin", ".pt", ".pth")) for n in names):
            return f"{path.name} holds only .bin/.pt weights; the app loads safetensors only."
        return f"{path.name} holds no .safetensors weights."
    if not _snapshot_complete(names, path):
        return f"{path.name} lacks some of the safetensors shards its index names."
    return None


def _pick_revision(repo: Any) -> Any:
    """The revision "main" points to, else the newest one."""
    for revision in repo.revisions:
        if "main" in revision.refs:
            return revision
    return max(repo.revisions, key=lambda r: r.last_modified)


def cached_models(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, CachedModel]:
    """The Qwen3-VL repos in the Hugging Face cache.

    Args:
        cache_dir: The hub cache; `default_cache_dir()` when None.

    Returns:
        Repo id -> what is cached; empty when the cache folder does not exist.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        info = huggingface_hub.scan_cache_dir(folder)
    except errors.CacheNotFound:
        return {}
    except OSError as exc:
        log.warning("Cannot read the Hugging Face cache %s: %s", folder, exc)
        return {}
    for warning in info.warnings:
        log.debug("Hugging Face cache: %s", warning)
    found: dict[str, CachedModel] = {}
    for repo in info.repos:
        if repo.repo_type != "model" or not is_qwen3_vl_repo(repo.repo_id) or not repo.revisions:
            continue
        revision = _pick_revision(repo)
        names = [PurePosixPath(f.file_path.relative_to(revision.snapshot_path)).as_posix()
                 for f in revision.files]
        found[repo.repo_id] = CachedModel(repo.repo_id, _snapshot_complete(names, revision.snapshot_path),
                                          repo.size_on_disk, revision.snapshot_path)
    return found


def is_needed_file(name: str) -> bool:
    """Whether a repo file is part of what the app needs to run the checkpoint."""
    path = PurePosixPath(name)
    if any(part.lower() in SKIPPED_FOLDERS for part in path.parts[:-1]):
        return False
    return path.suffix.lower() in NEEDED_SUFFIXES


def list_needed_files(repo_id: str) -> list[tuple[str, int]]:
    """The files of a repo the app needs, with their sizes, small ones first.

    Raises:
        DownloadError: If the hub cannot be reached or the repo does not exist.
    """
    try:
        info = huggingface_hub.HfApi().model_info(repo_id, files_metadata=True)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable DownloadError
        raise describe_error(exc, repo_id) from exc
    files = [(s.rfilename, int(s.size or 0)) for s in (info.siblings or []) if is_needed_file(s.rfilename)]
    if not any(name.endswith(".safetensors") for name, _ in files):
        raise DownloadError(f"{repo_id} has no safetensors weights; the app loads safetensors only.")
    # Configs first: they are small, and a cancelled download then shows as "partial".
    return sorted(files, key=lambda item: (item[0].endswith(".safetensors"), item[0]))


def describe_error(exc: BaseException, repo_id: str) -> DownloadError:
    """Turn a hub, network or disk error into a message a person understands."""
    if isinstance(exc, DownloadError):
        return exc
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return DownloadError(f"No network: offline mode is on (HF_HUB_OFFLINE=1), so {repo_id} "
                             f"cannot be downloaded; {OFFLINE_HINT}.")
    if isinstance(exc, errors.GatedRepoError):
        return DownloadError(f"{repo_id} is gated: accept its license on huggingface.co and log "
                             "in with `hf auth login`, then try again.")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return DownloadError(f"Repository not found: {repo_id}. Check the name (private repos "
                             "need `hf auth login`).")
    if isinstance(exc, (errors.RevisionNotFoundError, errors.RemoteEntryNotFoundError)):
        return DownloadError(f"{repo_id} changed on the hub while downloading; try again. ({exc})")
    if isinstance(exc, errors.LocalEntryNotFoundError) or _is_connection_error(exc):
        return DownloadError(f"No network: cannot reach huggingface.co to download {repo_id}; "
                             f"{OFFLINE_HINT}.")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DownloadError(f"Disk full while downloading {repo_id}: free some space in "
                             f"{default_cache_dir()} and try again (finished files are kept).")
    if isinstance(exc, errors.HfHubHTTPError):
        return DownloadError(f"The hub refused the download of {repo_id}: {str(exc).splitlines()[0]}")
    if isinstance(exc, OSError):
        return DownloadError(f"Cannot write the download of {repo_id}: {exc.strerror or exc}")
    return DownloadError(f"Download of {repo_id} failed: {exc}")


def _is_connection_error(exc: BaseException) -> bool:
    """Whether an exception means the network (or the hub) is unreachable."""
    try:
        import httpx
    except ImportError:  # pragma: no cover - huggingface_hub 1.x depends on httpx
        httpx = None  # type: ignore[assignment]
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return httpx is not None and isinstance(exc, (httpx.ConnectError, httpx.TimeoutException,
                                                  httpx.NetworkError))


def _check_free_space(folder: Path, needed: int, repo_id: str) -> None:
    """Refuse to start a download that cannot fit (the hub itself only warns)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if needed > free:
        raise DownloadError(f"Not enough disk space for {repo_id}: it needs {needed / 1e9:.1f} GB, "
                            f"{probe} has {free / 1e9:.1f} GB free.")


def _progress_class(on_bytes: Callable[[int], None], cancel: threading.Event) -> type:
    """A tqdm class for `hf_hub_download` that reports bytes and raises when cancelled.

    Defining `update_transfer` makes the hub use one bar per file for Xet downloads too
    (update counts bytes written; update_transfer only the network, which we ignore).
    """

    class _Progress(hf_tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # no console output; we only want the counts
            super().__init__(*args, **kwargs)
            if kwargs.get("initial"):  # a resumed file: the bytes already there count as done
                on_bytes(int(kwargs["initial"]))

        def update(self, n: float | None = 1) -> bool | None:
            if cancel.is_set():
                raise DownloadCancelled("Download cancelled.")
            if n:
                on_bytes(int(n))
            return None

        def update_transfer(self, n: float | None = 1) -> None:
            if cancel.is_set():
                raise DownloadCancelled("Download cancelled.")

        def set_transfer_postfix_str(self, *args: Any, **kwargs: Any) -> None:
            return None

    return _Progress


def download_model(repo_id: str, cancel: threading.Event, on_progress: ProgressCallback,
                   cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download what a checkpoint needs into the standard Hugging Face cache.

    Files are fetched one by one (already cached ones cost a request, no transfer); the
    callback gets the bytes done over all files, the total and the file in progress.

    Args:
        repo_id: For example "Qwen/Qwen3-VL-2B-Instruct".
        cancel: Set it (from any thread) to stop between chunks.
        on_progress: Called from the downloading thread.
        cache_dir: The hub cache; `default_cache_dir()` when None.

    Returns:
        The snapshot folder holding the checkpoint.

    Raises:
        DownloadCancelled: When `cancel` was set; finished files stay in the cache.
        DownloadError: When offline, the repo is missing, the disk is full, ... (readable).
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if cancel.is_set():
        raise DownloadCancelled("Download cancelled.")
    files = list_needed_files(repo_id)
    total = sum(size for _, size in files)
    _check_free_space(cache, total - _cached_bytes(repo_id, cache), repo_id)
    done, current = 0, ""

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        on_progress(min(done, total), total, current)

    progress_class = _progress_class(on_bytes, cancel)
    snapshot: Path | None = None
    for name, size in files:
        if cancel.is_set():
            raise DownloadCancelled("Download cancelled.")
        current, start = name, done
        on_progress(done, total, name)
        try:
            local = huggingface_hub.hf_hub_download(repo_id, name, cache_dir=cache,
                                                    tqdm_class=progress_class)
        except DownloadCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable DownloadError
            raise describe_error(exc, repo_id) from exc
        done = start + size  # cached files report no bytes at all
        snapshot = Path(local).parents[len(PurePosixPath(name).parts) - 1]
        on_progress(done, total, name)
    assert snapshot is not None  # list_needed_files returns at least one file
    log.info("Downloaded %s to %s", repo_id, snapshot)
    return snapshot


def _cached_bytes(repo_id: str, cache: Path) -> int:
    """Bytes of a repo already in the cache (so a resumed download is not refused)."""
    found = cached_models(cache).get(repo_id)
    return found.size_bytes if found else 0
