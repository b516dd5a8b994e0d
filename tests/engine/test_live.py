"""The live engine: jobs submitted from several threads share one runner's slots.

Reference for every comparison: the same item captioned alone (generate() with a batch of
one, or the continuous runner with one job), on the CPU in float32 where batching does not
change a row's tokens.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from desktop_app.engine import (CaptionEngine, CaptionItem, CaptionRequest, GenerationParams,
                                ImageCaptioned, ImageFailed, LoadOptions, TokensStreamed)
from desktop_app.engine.events import JobEnded
from desktop_app.engine.tracker import JobTracker
from desktop_app.testing.videos import write_video
from tests.engine.test_engine import make_image

CPU = LoadOptions(device="cpu", dtype="float32")
SIZES = [(32, 32), (64, 48), (200, 120), (50, 90), (128, 128), (120, 200), (96, 64), (80, 80)]
LIMITS = [6, 30, 12, 25, 4, 18, 40, 9]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("live")
    paths = [make_image(root / f"img{i}.png", size, 50 + i) for i, size in enumerate(SIZES)]
    paths.append(write_video(root / "clip.mp4", seconds=1.0, fps=4))
    return paths


@pytest.fixture(scope="module")
def live(tiny_model_dir: Path) -> Any:
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner="continuous", workers=2)
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path) -> Any:
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner="generate", workers=2)
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture
def token_ids(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[Path, int], tuple[int, ...]]:
    """Every finished row's token ids by (path, variant), whichever job it belonged to."""
    seen: dict[tuple[Path, int], tuple[int, ...]] = {}
    original = JobTracker.row_done

    def row_done(self: JobTracker, row: Any) -> None:
        image = self.images.get(row.key)
        if image is not None:
            seen[(image.path, row.variant)] = row.token_ids
        original(self, row)

    monkeypatch.setattr(JobTracker, "row_done", row_done)
    return seen


def items(paths: list[Path], limits: list[int] | None = None, seed: int | None = None) -> tuple[CaptionItem, ...]:
    return tuple(CaptionItem(p, max_new_tokens=n, seed=None if seed is None else seed + i)
                 for i, (p, n) in enumerate(zip(paths, limits or [LIMITS[i % len(LIMITS)] for i in range(len(paths))])))


def request(its: tuple[CaptionItem, ...], batch_size: int | None = 3, **params: Any) -> CaptionRequest:
    params.setdefault("max_new_tokens", 64)
    return CaptionRequest(items=its, batch_size=batch_size, params=GenerationParams(**params))


class Collector:
    """One job's events, with the moment its first token arrived."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.first_token = threading.Event()
        self.ended = threading.Event()

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        if isinstance(event, TokensStreamed):
            self.first_token.set()
        if isinstance(event, JobEnded):
            self.ended.set()

    def results(self) -> dict[Path, Any]:
        return {e.path: e for e in self.events if isinstance(e, (ImageCaptioned, ImageFailed))}


def alone(engine: CaptionEngine, its: tuple[CaptionItem, ...], **params: Any) -> dict[Path, Any]:
    """Each item in a job of its own with a single slot: nothing else shares its steps."""
    out = {}
    for item in its:
        (result,) = list(engine.caption(request((item,), batch_size=1, **params)))
        out[item.path] = result
    return out


def test_greedy_jobs_submitted_at_staggered_times_equal_generate(live, reference, folder, token_ids):
    """A mixed folder (images of many sizes, a video, varied limits) as three jobs submitted
    while the others decode: every caption's tokens equal generate() on that item alone."""
    its = items(folder)
    expected_ids: dict[tuple[Path, int], tuple[int, ...]] = {}
    expected = alone(reference, its)
    expected_ids.update(token_ids)
    token_ids.clear()

    parts = [its[0:3], its[3:6], its[6:]]
    collectors = [Collector() for _ in parts]
    handles = [live.submit(request(parts[0]), collectors[0])]
    assert collectors[0].first_token.wait(60)
    handles.append(live.submit(request(parts[1]), collectors[1]))
    assert collectors[1].first_token.wait(60)
    handles.append(live.submit(request(parts[2]), collectors[2]))
    for handle in handles:
        assert handle.wait(120)
    for part, collector in zip(parts, collectors):
        got = collector.results()
        assert set(got) == {item.path for item in part}  # each job saw exactly its own items
        for path, result in got.items():
            assert isinstance(result, ImageCaptioned), result
            assert result.caption == expected[path].caption
            assert result.truncated == expected[path].truncated
    assert token_ids == expected_ids
    assert live.runner.stats.extra["prefills"] > 0 and live.live.idle()


def test_seeded_sampling_is_the_same_alone_and_beside_other_jobs(live, folder, token_ids):
    """Concurrent jobs with different sampling settings: each item's caption equals the one it
    gets alone with the same seed."""
    kinds = [dict(temperature=0.9, top_p=0.9, top_k=20),
             dict(temperature=0.0),
             dict(temperature=1.2, top_p=1.0, top_k=0, presence_penalty=0.5, repetition_penalty=1.1)]
    jobs = [(items(folder[i:i + 3], [20] * 3, seed=100 * i), kind) for i, kind in zip((0, 3, 6), kinds)]
    expected: dict[tuple[Path, int], tuple[int, ...]] = {}
    for its, kind in jobs:
        alone(live, its, **kind)
        expected.update(token_ids)
        token_ids.clear()
    handles = [live.submit(request(its, **kind)) for its, kind in jobs]
    for handle in handles:
        assert len(list(handle.results())) == 3
    assert token_ids == expected
    sampled = [ids for (path, _), ids in expected.items() if path in {i.path for i in jobs[0][0]}]
    assert len(set(sampled)) == 3  # the seeds differ, so do the sampled captions


def test_an_explicit_seed_does_not_depend_on_the_path_or_the_caller(live, folder, tmp_path):
    """The same image, prompt and seed: the same sampled caption under another file name, from
    another thread, beside another job."""
    copy = shutil.copy(folder[2], tmp_path / "another-name.png")
    params = dict(temperature=1.0, top_k=0, max_new_tokens=24)
    (first,) = list(live.caption(request((CaptionItem(folder[2], seed=7),), **params)))
    out: list[Any] = []
    busy = live.submit(request(items(folder[:4], [30] * 4)))
    thread = threading.Thread(target=lambda: out.extend(
        live.caption(request((CaptionItem(Path(copy), seed=7),), **params))))
    thread.start()
    thread.join(60)
    busy.wait(60)
    assert out[0].caption == first.caption and out[0].tokens == first.tokens


def test_a_cancelled_job_stops_within_a_step_and_the_others_run_on(live, folder):
    slow, other = Collector(), Collector()
    long_job = live.submit(request(items(folder[:3], [400] * 3), ignore_eos=True, max_new_tokens=400), slow)
    short_job = live.submit(request(items(folder[3:6], [30] * 3), ignore_eos=True), other)
    assert slow.first_token.wait(60)
    time.sleep(0.05)
    steps = live.runner.stats.decode_steps
    long_job.cancel()
    assert long_job.wait(30) and slow.ended.is_set()
    assert live.runner.stats.decode_steps - steps <= 2
    ended = slow.events.index(next(e for e in slow.events if isinstance(e, JobEnded)))
    assert slow.events[ended].cancelled and ended == len(slow.events) - 1
    assert short_job.wait(60)
    done = other.results()
    assert len(done) == 3 and all(isinstance(r, ImageCaptioned) and r.tokens == 30 for r in done.values())
    assert not any(isinstance(r, ImageCaptioned) for r in slow.results().values())


def test_a_broken_file_fails_alone_in_its_own_job(live, reference, folder, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    its = items([folder[0], broken, folder[1]])
    mine, theirs = Collector(), Collector()
    a = live.submit(request(its), mine)
    b = live.submit(request(items(folder[4:7])), theirs)
    assert a.wait(60) and b.wait(60)
    got = mine.results()
    assert isinstance(got[broken], ImageFailed) and "broken.png" in str(got[broken].path)
    assert got[broken].reason
    expected = alone(reference, its[:1] + its[2:] + items(folder[4:7]))
    for path, result in {**got, **theirs.results()}.items():
        if path != broken:
            assert isinstance(result, ImageCaptioned) and result.caption == expected[path].caption


def test_events_go_to_their_own_job_only(live, folder):
    a, b = Collector(), Collector()
    ha = live.submit(request(items(folder[:2], [8, 8])), a)
    hb = live.submit(request(items(folder[2:4], [8, 8])), b)
    assert ha.wait(60) and hb.wait(60)
    paths_a = {e.path for e in a.events if hasattr(e, "path")}
    paths_b = {e.path for e in b.events if hasattr(e, "path")}
    assert paths_a == set(folder[:2]) and paths_b == set(folder[2:4])
    assert isinstance(a.events[-1], JobEnded) and a.events[-1].job_id == ha.id != hb.id


# -- the load-time self-check --------------------------------------------------------------
def test_the_self_check_passes_and_the_model_line_names_the_runner(live):
    assert live.loaded.runner == "continuous"
    assert "continuous batching" in live.loaded.describe()


def test_a_decode_step_that_drifts_falls_back_to_generate_with_one_warning(tiny_model_dir, monkeypatch, caplog):
    from desktop_app.engine.adapters.qwen3_vl import Qwen3VLAdapter

    real = Qwen3VLAdapter.step_logits
    # An offset of 0.5 on every logit of a step: more than any dtype's tolerance, from step 1 on.
    monkeypatch.setattr(Qwen3VLAdapter, "step_logits", lambda self, cache, state: real(self, cache, state) + 0.5)
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, workers=2)
    with caplog.at_level(logging.WARNING, logger="desktop_app.engine.engine"):
        loaded = engine.load()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "decode step 1" in warnings[0].getMessage()
    assert loaded.runner == "generate" and "self-check failed" in loaded.runner_reason
    assert "generate() runner (self-check failed" in loaded.describe()
    results = list(engine.caption(request(items([Path(p) for p in []]))))  # an empty job still runs
    assert results == []
    engine.unload()


def test_a_moved_attribute_falls_back_and_names_it(tiny_model_dir, monkeypatch, caplog, folder):
    from desktop_app.engine.adapters import qwen3_vl

    monkeypatch.setattr(qwen3_vl, "_LAYER_ATTRS", (*qwen3_vl._LAYER_ATTRS, "self_attn.rotary_fn"))
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, workers=2)
    with caplog.at_level(logging.WARNING, logger="desktop_app.engine.engine"):
        loaded = engine.load()
    assert loaded.runner == "generate" and "self_attn.rotary_fn" in loaded.runner_reason
    assert any("self_attn.rotary_fn" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    (result,) = list(engine.caption(request(items(folder[:1]))))
    assert isinstance(result, ImageCaptioned)  # captions still come, from generate()
    engine.unload()


def test_the_self_check_passes_in_bfloat16(tiny_model_dir):
    from desktop_app.engine.adapters import adapter_for, self_check
    from desktop_app.engine.engine import _probe_input

    engine = CaptionEngine(str(tiny_model_dir), options=replace(CPU, dtype="bfloat16"), runner="generate")
    loaded = engine.load()
    check = self_check(adapter_for(loaded.model), *_probe_input(loaded))
    assert check.ok, check.detail
    assert 0 < check.max_diff <= check.tolerance
    engine.unload()


def test_a_listener_only_job_keeps_no_results(live, folder):
    got = Collector()
    handle = live.submit(request(items(folder[:3], [4] * 3)), got, keep_results=False)
    assert handle.wait(60)
    assert len(got.results()) == 3  # every result came as an event
    assert handle._results.qsize() == 1  # only the end marker is held
    assert list(handle.results()) == []
