"""How a caption ended (issue 20): a cut caption, an empty answer and a Thinking model's
reasoning that did not finish within max_new_tokens are each reported as what they are."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from desktop_app.engine import (
    CaptionEngine,
    CaptionRequest,
    GenerationParams,
    ImageCaptioned,
    LoadOptions,
    Progress,
)
from desktop_app.engine.tracker import JobTracker

CPU = LoadOptions(device="cpu", dtype="fp32")


def result(caption: str, finish: str = "stop", reasoning_cut: bool = False, limit: int = 256,
           **kw: Any) -> ImageCaptioned:
    return ImageCaptioned(Path("a.png"), caption, (caption,), finish == "length", finish=finish,
                          reasoning_cut=reasoning_cut, metadata={"params": {"max_new_tokens": limit}}, **kw)


def test_each_outcome_has_its_problem_and_says_what_to_change():
    assert result("A cat.").problem is None and result("A cat.").has_text
    cut = result("A cat on a", "length")
    assert cut.problem == "cut" and cut.has_text and "raise max new tokens" in cut.problem_message()
    empty = result("  \n", "stop")
    assert empty.problem == "empty" and not empty.has_text
    assert "no text" in empty.problem_message()
    unfinished = result("", "length", reasoning_cut=True, reasoning="I see fur", limit=64)
    assert unfinished.problem == "reasoning_unfinished" and not unfinished.has_text
    message = unfinished.problem_message("--max-new-tokens")
    assert "reasoning did not finish within 64 tokens" in message and "raise --max-new-tokens" in message
    # Old callers give only `truncated`: the outcome follows it.
    assert ImageCaptioned(Path("a"), "x", ("x",), True).finish == "length"
    assert ImageCaptioned(Path("a"), "x", ("x",), False).finish == "stop"


class _PieceTokenizer:
    """Ids are whole text pieces (like Qwen's one-token </think>)."""

    def __init__(self, pieces: list[str]):
        self.pieces = pieces

    def __len__(self) -> int:
        return len(self.pieces)

    def decode(self, ids: list[int], **kwargs: Any) -> str:
        return "".join(self.pieces[i] for i in ids)


@pytest.mark.parametrize("thinking, tokens, stopped, problem", [
    (True, [0, 1], False, "reasoning_unfinished"),  # the limit came inside the reasoning
    (True, [0, 1, 2, 3], True, "empty"),  # the reasoning closed, then the model stopped
    (True, [0, 2, 4], False, "cut"),  # the answer began and was cut
    (False, [4, 5], False, "cut"),
    (False, [], True, "empty"),  # the model stopped at once
    (False, [4, 5], True, None),
])
def test_tracker_sets_how_each_caption_ended(thinking, tokens, stopped, problem, tmp_path):
    import torch

    from desktop_app.engine.models import ModelSpec
    from desktop_app.engine.runner import PreparedInput, RowDone

    pieces = ["I see", " fur", "</think>", "\n\n", "A cat", " on a mat."]
    loaded = SimpleNamespace(processor=SimpleNamespace(tokenizer=_PieceTokenizer(pieces)),
                             spec=ModelSpec("m-Thinking", "m", thinking=thinking),
                             device=torch.device("cpu"), dtype=torch.float32)
    path = tmp_path / "a.png"
    events: list[Any] = []
    tracker = JobTracker(loaded, CaptionRequest.for_paths([path]), events.append)
    ids = torch.tensor([1, 2, 3])
    tracker.start(0, path, PreparedInput(0, ids, torch.zeros_like(ids), None, None, 16, (5,)))
    for token in tokens:
        tracker.on_tokens([(0, 0, token)])
    tracker.row_done(RowDone(0, 0, tuple(tokens), stopped=stopped))
    (done,) = tracker.drain()
    assert done.finish == ("stop" if stopped else "length") and done.problem == problem
    progress = [e for e in events if isinstance(e, Progress)][-1]
    # A result without caption text counts with the failures, not as captioned.
    assert (progress.done, progress.failed) == ((0, 1) if problem in ("empty", "reasoning_unfinished") else (1, 0))


def thinking_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The tiny model under a name ending in -Thinking: a random model never writes </think>."""
    return shutil.copytree(tiny_model_dir, tmp_path / "tiny-Thinking")


def make_images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i}.png"
        Image.effect_noise((48 + 8 * i, 40), 30 + i).convert("RGB").save(path)
        paths.append(path)
    return paths


def test_thinking_model_cut_in_its_reasoning_is_reported_unfinished(tiny_model_dir, tmp_path):
    engine = CaptionEngine(str(thinking_copy(tiny_model_dir, tmp_path)), options=CPU, runner="generate")
    assert engine.spec.thinking
    paths = make_images(tmp_path / "imgs", 2)
    events: list[Any] = []
    request = CaptionRequest.for_paths(paths, params=GenerationParams(max_new_tokens=6))
    results = list(engine.caption(request, on_event=events.append))
    assert [r.problem for r in results] == ["reasoning_unfinished"] * 2
    assert all(r.finish == "length" and r.caption == "" and r.reasoning for r in results)
    assert "within 6 tokens" in results[0].problem_message()
    last = [e for e in events if isinstance(e, Progress)][-1]
    assert (last.done, last.failed) == (0, 2)
    engine.unload()


# -- the store and the filter language ---------------------------------------------------------
def test_store_keeps_the_problem_until_a_caption_or_an_edit_replaces_it(tmp_path):
    from desktop_app.library import Library
    from desktop_app.library.query import matches

    folder = tmp_path / "f"
    paths = make_images(folder, 3)
    with Library.open(folder, data_dir=tmp_path / "data") as lib:
        lib.record_failure(paths[0], "no caption: the reasoning did not finish", "reasoning_unfinished")
        lib.record_failure(paths[1], "no caption: the model answered with no text", "empty")
        lib.record_failure(paths[2], "cannot read the image")
        records = lib.items()
        assert [r.problem for r in records] == ["reasoning_unfinished", "empty", ""]
        assert [r.rel_path for r in matches("status:unfinished", records)] == ["img0.png"]
        assert [r.rel_path for r in matches("status:empty", records)] == ["img1.png"]
        assert len(matches("status:failed", records)) == 3
        lib.record_result(paths[0], "A cat.")
        lib.record_edit(paths[1], "my caption")
        assert [r.problem for r in lib.items()] == ["", "", ""]


# -- the remote engine: the outcome comes from the server's finish_reason ------------------------
def test_remote_reasoning_cut_at_the_limit_is_unfinished(tmp_path):
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    from desktop_app.engine.remote import RemoteEngine

    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "m", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat() -> Any:
        def chunk(delta: dict[str, Any], finish: str | None) -> str:
            return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"

        body = chunk({"reasoning_content": "I see fur"}, None) + chunk({}, "length") + "data: [DONE]\n\n"
        return StreamingResponse(iter([body]), media_type="text/event-stream")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    try:
        (path,) = make_images(tmp_path / "imgs", 1)
        remote = RemoteEngine([f"http://127.0.0.1:{port}"], model="m", concurrency=1)
        request = CaptionRequest.for_paths([path]).with_params(max_new_tokens=8)
        (done,) = list(remote.caption(request))
    finally:
        server.should_exit = True
        thread.join(10)
    assert isinstance(done, ImageCaptioned), done
    assert done.finish == "length" and done.reasoning == "I see fur"
    assert done.problem == "reasoning_unfinished" and not done.has_text
