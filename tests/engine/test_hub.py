"""The hub helpers: cache scan on a hub-shaped cache, downloads through the real hub code.

Downloads go through huggingface_hub's own `hf_hub_download` with an `httpx.MockTransport`
serving a fake repo, so progress, cancel and the cache layout are the hub's real ones; no
request can leave the process.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import huggingface_hub
import pytest
from huggingface_hub import constants

from desktop_app.engine import hub

REPO = "Qwen/Qwen3-VL-2B-Instruct"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_cached_repo(cache: Path, repo_id: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """Lay a repo out the way the hub does: blobs named by hash, snapshot symlinks, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_cached_models_tells_complete_from_incomplete(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    complete = make_cached_repo(cache, REPO, {"config.json": b"{}", "model.safetensors": b"w" * 1000})
    make_cached_repo(cache, "Qwen/Qwen3-VL-4B-Instruct", {"config.json": b"{}"})
    make_cached_repo(cache, "someone/Qwen3-VL-8B-Instruct-AWQ", {"config.json": b"{}", "m.safetensors": b"q"})
    make_cached_repo(cache, "org/other-model", {"config.json": b"{}", "model.safetensors": b"x"})

    found = hub.cached_models(cache)

    assert set(found) == {REPO, "Qwen/Qwen3-VL-4B-Instruct", "someone/Qwen3-VL-8B-Instruct-AWQ"}
    assert found[REPO].complete and found[REPO].snapshot_path == complete
    assert found[REPO].size_bytes == 1002
    assert not found["Qwen/Qwen3-VL-4B-Instruct"].complete
    assert found["someone/Qwen3-VL-8B-Instruct-AWQ"].complete


def test_cached_models_needs_every_shard_the_index_names(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    index = json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                       "b": "model-00002-of-00002.safetensors"}}).encode()
    files = {"config.json": b"{}", hub.INDEX_NAME: index, "model-00001-of-00002.safetensors": b"1"}
    make_cached_repo(cache, REPO, files)
    assert not hub.cached_models(cache)[REPO].complete
    make_cached_repo(cache, REPO, {"model-00002-of-00002.safetensors": b"2"})
    assert hub.cached_models(cache)[REPO].complete


def test_cached_models_of_a_missing_cache_is_empty_and_default_follows_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub.cached_models(tmp_path / "nowhere") == {}
    make_cached_repo(tmp_path / "env-cache", REPO, {"config.json": b"{}", "model.safetensors": b"w"})
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "env-cache"))
    assert hub.default_cache_dir() == tmp_path / "env-cache"
    assert hub.cached_models()[REPO].complete


def test_check_local_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert hub.check_local_checkpoint(tiny_model_dir) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no config.json" in hub.check_local_checkpoint(empty)
    (empty / "config.json").write_text("{}")
    (empty / "pytorch_model.bin").write_bytes(b"x")
    assert "safetensors only" in hub.check_local_checkpoint(empty)
    assert "not a folder" in hub.check_local_checkpoint(tmp_path / "missing")


def test_needed_files_skip_other_formats() -> None:
    assert hub.is_needed_file("model-00001-of-00002.safetensors")
    assert hub.is_needed_file("chat_template.jinja") and hub.is_needed_file("merges.txt")
    skipped = ("pytorch_model.bin", "model.gguf", "original/model.safetensors", "README.md", ".gitattributes")
    for name in skipped:
        assert not hub.is_needed_file(name), name


class FakeHub:
    """A repo served through `httpx.MockTransport`: model_info, HEAD and (ranged) GET."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str]] = []
        self.fail: Callable[[httpx.Request], httpx.Response] | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append((request.method, url))
        if self.fail is not None:
            return self.fail(request)
        if url.startswith(f"https://huggingface.co/api/models/{REPO}"):
            siblings = [{"rfilename": k, "size": len(v)} for k, v in self.files.items()]
            return httpx.Response(200, json={"id": REPO, "sha": COMMIT, "siblings": siblings})
        prefix = f"https://huggingface.co/{REPO}/resolve/main/"
        if not url.startswith(prefix) or url[len(prefix):] not in self.files:
            return httpx.Response(404, headers={"X-Error-Code": "RepoNotFound"})
        data = self.files[url[len(prefix):]]
        headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                   "Content-Length": str(len(data))}
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        start = re.match(r"bytes=(\d+)-", request.headers.get("Range", ""))
        offset = int(start.group(1)) if start else 0
        headers["Content-Length"] = str(len(data) - offset)
        return httpx.Response(206 if offset else 200, headers=headers, content=data[offset:])

    def downloaded(self) -> list[str]:
        gets = [url for method, url in self.requests if method == "GET" and "/resolve/" in url]
        return [url.rsplit("/", 1)[-1] for url in gets]


WEIGHTS = bytes(range(256)) * 2000  # 512 kB: several 64 kB chunks


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The hub's HTTP client replaced by a mock transport (restored afterwards)."""
    files = {"config.json": b'{"model_type": "qwen3_vl"}', "tokenizer.json": b"{}",
             "model.safetensors": WEIGHTS, "pytorch_model.bin": b"old", "README.md": b"# readme",
             "original/consolidated.safetensors": b"other"}
    server = FakeHub(files)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    huggingface_hub.set_client_factory(
        lambda: httpx.Client(transport=httpx.MockTransport(server.handler), follow_redirects=True))
    yield server
    huggingface_hub.set_client_factory(huggingface_hub.utils._http.default_client_factory)


def test_download_reports_progress_and_fills_the_cache(fake_hub: FakeHub, tmp_path: Path) -> None:
    reports: list[tuple[int, int, str]] = []
    snapshot = hub.download_model(REPO, threading.Event(), lambda *r: reports.append(r),
                                  cache_dir=tmp_path / "hub")

    total = len(fake_hub.files["config.json"]) + 2 + len(WEIGHTS)
    assert reports[-1] == (total, total, "model.safetensors")
    done = [d for d, _, _ in reports]
    assert done == sorted(done) and all(t == total for _, t, _ in reports)
    assert sum(1 for _, _, name in reports if name == "model.safetensors") > 4  # within the file
    assert sorted(fake_hub.downloaded()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert (snapshot / "model.safetensors").read_bytes() == WEIGHTS
    cached = hub.cached_models(tmp_path / "hub")[REPO]
    assert cached.complete and cached.snapshot_path == snapshot


def test_cancel_stops_within_a_file_and_keeps_finished_files(fake_hub: FakeHub, tmp_path: Path) -> None:
    cancel = threading.Event()
    reports: list[int] = []

    def on_progress(done: int, total: int, name: str) -> None:
        reports.append(done)
        if name == "model.safetensors" and done > 100_000:
            cancel.set()

    with pytest.raises(hub.DownloadCancelled):
        hub.download_model(REPO, cancel, on_progress, cache_dir=tmp_path / "hub")

    assert max(reports) < len(WEIGHTS) // 2  # stopped after a chunk or two
    cached = hub.cached_models(tmp_path / "hub")[REPO]
    assert not cached.complete and (cached.snapshot_path / "config.json").exists()

    hub.download_model(REPO, threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")
    assert fake_hub.downloaded().count("config.json") == 1  # finished files are not fetched again
    assert hub.cached_models(tmp_path / "hub")[REPO].complete


def test_cancel_before_start_makes_no_request(fake_hub: FakeHub, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(hub.DownloadCancelled):
        hub.download_model(REPO, cancel, lambda *r: None, cache_dir=tmp_path / "hub")
    assert fake_hub.requests == []


def test_offline_mode_gives_a_readable_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the hub refuses before any connection
    with pytest.raises(hub.DownloadError, match=r"^No network: offline mode is on") as info:
        hub.download_model(REPO, threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")
    assert "local folder" in str(info.value)


def test_unreachable_hub_missing_repo_and_full_disk(fake_hub: FakeHub, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    fake_hub.fail = refuse
    with pytest.raises(hub.DownloadError, match=r"^No network: cannot reach huggingface.co"):
        hub.download_model(REPO, threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")

    fake_hub.fail = None
    with pytest.raises(hub.DownloadError, match=r"^Repository not found: Qwen/Nope"):
        hub.download_model("Qwen/Nope", threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")

    monkeypatch.setattr(hub.shutil, "disk_usage", lambda path: _Usage(1000))
    with pytest.raises(hub.DownloadError, match=r"^Not enough disk space"):
        hub.download_model(REPO, threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")

    full = hub.describe_error(OSError(errno.ENOSPC, "No space left on device"), REPO)
    assert str(full).startswith("Disk full while downloading")


class _Usage:
    """What shutil.disk_usage returns, with only `free` used."""

    def __init__(self, free: int) -> None:
        self.free = free


def test_repo_without_safetensors_is_refused(fake_hub: FakeHub, tmp_path: Path) -> None:
    del fake_hub.files["model.safetensors"]
    del fake_hub.files["original/consolidated.safetensors"]
    with pytest.raises(hub.DownloadError, match="safetensors only"):
        hub.download_model(REPO, threading.Event(), lambda *r: None, cache_dir=tmp_path / "hub")
    assert fake_hub.downloaded() == []


# -- the network check before the first hub request (issue 20) ------------------------------
def _closed_port() -> int:
    """A loopback port nobody listens on (connecting to it is refused at once)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_hub_check_answers_quickly_for_a_closed_and_an_open_port() -> None:
    import socket
    import time

    started = time.perf_counter()
    assert not hub.hub_reachable(("127.0.0.1", _closed_port()), timeout=30)
    assert time.perf_counter() - started < 10  # refused at once, not after its 30 s timeout
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert hub.hub_reachable(server.getsockname())


def test_hub_check_waits_no_longer_than_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    release = threading.Event()

    def hanging_resolver(*args: object, **kwargs: object) -> None:  # a DNS lookup that hangs
        release.wait(10)
        raise OSError("too late")

    monkeypatch.setattr(hub.socket, "create_connection", hanging_resolver)
    started = time.perf_counter()
    assert not hub.hub_reachable(("hub.invalid", 443), timeout=0.3)
    assert time.perf_counter() - started < 8  # its own timeout, not the 10 s hanging lookup
    release.set()


def test_hub_check_goes_where_requests_go(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    assert hub.hub_address() == ("huggingface.co", 443)
    monkeypatch.setattr(constants, "ENDPOINT", "http://mirror.example:8080")
    assert hub.hub_address() == ("mirror.example", 8080)
    monkeypatch.setattr(constants, "ENDPOINT", "https://huggingface.co")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert hub.hub_address() == ("proxy.example", 3128)  # a direct connection would not tell
