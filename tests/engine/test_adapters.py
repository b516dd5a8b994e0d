"""Model adapters: the MoE variant of Qwen3-VL on the engine's decode loop, and the registry."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest

from desktop_app.engine import CaptionEngine, CaptionItem, CaptionRequest, GenerationParams, LoadOptions
from desktop_app.engine.adapters import AdapterError, adapter_for
from tests.engine.test_engine import make_image

CPU = LoadOptions(device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def tiny_moe_dir() -> Path:
    from desktop_app.testing import tiny_model, tiny_moe

    key = hashlib.sha1(Path(tiny_moe.__file__).read_bytes() + Path(tiny_model.__file__).read_bytes())
    path = Path(tempfile.gettempdir()) / "caption-studio-tests" / f"tiny-qwen3-vl-moe-{key.hexdigest()[:12]}"
    if not (path / "model.safetensors").exists():
        tiny_moe.build_tiny_moe(path)
    return path


def test_the_moe_model_runs_on_the_decode_loop_and_equals_generate(tiny_moe_dir, tmp_path):
    paths = [make_image(tmp_path / f"{i}.png", size, 70 + i)
             for i, size in enumerate([(32, 32), (96, 64), (64, 128), (128, 96), (48, 48)])]
    request = CaptionRequest(items=tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(paths, [5, 20, 9, 14, 3])),
                             batch_size=2, params=GenerationParams(max_new_tokens=20))
    loop = CaptionEngine(str(tiny_moe_dir), options=CPU, workers=2)
    loaded = loop.load()
    assert type(loaded.model).__name__ == "Qwen3VLMoeForConditionalGeneration"
    assert loaded.runner == "continuous", loaded.runner_reason  # the self-check passed
    assert loop.runner is None or not loop.runner.cuda_graph
    got = {r.path: r for r in loop.caption(request)}
    assert type(loop.runner).__name__ == "ContinuousRunner" and loop.runner.adapter.family == "qwen3_vl_moe"
    assert not loop.runner.adapter.graph_safe  # routing is data dependent: never in a CUDA graph
    reference = CaptionEngine(str(tiny_moe_dir), options=CPU, runner="generate", workers=2)
    for item in request.items:
        (alone,) = list(reference.caption(CaptionRequest(items=(item,), batch_size=1, params=request.params)))
        assert got[item.path].caption == alone.caption and got[item.path].tokens == alone.tokens
    loop.unload()
    reference.unload()


def test_a_model_without_an_adapter_is_named():
    class Other:
        pass

    with pytest.raises(AdapterError, match="no decode-loop adapter for Other"):
        adapter_for(Other())
