"""Model names, loading options and errors, prompt variables and reasoning splitting."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
import torch

from desktop_app.engine.loading import (LoadOptions, ModelLoadError, load_model, pick_attention,
                                        pick_device, pick_dtype, quantization_config)
from desktop_app.engine.models import DEFAULT_MODEL, KNOWN_MODELS, resolve_model
from desktop_app.engine.prompts import render_prompt, split_reasoning

CPU = torch.device("cpu")


# -- resolve_model -----------------------------------------------------------------------
@pytest.mark.parametrize("arg, name", [
    ("Qwen3-VL-8B-Instruct", "Qwen3-VL-8B-Instruct"),
    ("qwen3-vl-4b-thinking", "Qwen3-VL-4B-Thinking"),
    ("2B", "Qwen3-VL-2B-Instruct"),
    ("32b", "Qwen3-VL-32B-Instruct"),
    ("30B-A3B", "Qwen3-VL-30B-A3B-Instruct"),
    ("Qwen/Qwen3-VL-2B-Thinking", "Qwen3-VL-2B-Thinking"),
])
def test_known_names(arg, name):
    spec = resolve_model(arg)
    assert spec is KNOWN_MODELS[name]
    assert spec.source == f"Qwen/{name}" and not spec.local
    assert spec.thinking == name.endswith("Thinking")
    assert spec.moe == ("A3B" in name)
    assert spec.params_b > 0
    assert resolve_model(DEFAULT_MODEL).name == DEFAULT_MODEL


def test_other_repo_ids_pass_through():
    spec = resolve_model("someone/Qwen3-VL-30B-A3B-Thinking-finetune")
    assert (spec.name, spec.source) == ("someone/Qwen3-VL-30B-A3B-Thinking-finetune",) * 2
    assert spec.thinking and spec.moe and not spec.local


def test_a_folder_is_a_local_model(tmp_path):
    folder = tmp_path / "my-Thinking-checkpoint"
    folder.mkdir()
    spec = resolve_model(str(folder))
    assert spec.local and spec.thinking
    assert Path(spec.source) == folder.resolve()


@pytest.mark.parametrize("arg", ["./no-such-model", "/no/such/model/folder", "~/no-such-model-here",
                                 "C:\\models\\qwen"])
def test_a_missing_folder_is_a_value_error(arg):
    with pytest.raises(ValueError, match="not found"):
        resolve_model(arg)


def test_an_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown model"):
        resolve_model("llama-7b")


# -- options -----------------------------------------------------------------------------
def test_quantization_without_bitsandbytes_says_so(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    for choice in ("4bit", "8bit"):
        with pytest.raises(ModelLoadError, match="bitsandbytes"):
            quantization_config(choice, CPU, torch.float32)
    assert quantization_config("none", CPU, torch.float32) is None


def test_unknown_options_are_load_errors():
    with pytest.raises(ModelLoadError, match="quantization"):
        quantization_config("3bit", CPU, torch.float32)
    with pytest.raises(ModelLoadError, match="dtype"):
        pick_dtype("fp8", CPU)
    with pytest.raises(ModelLoadError, match="attention"):
        pick_attention("fast", CPU, torch.float32)
    assert pick_dtype("auto", CPU) == torch.float32
    assert pick_dtype("bf16", CPU) == torch.bfloat16
    assert pick_attention("auto", CPU, torch.float32) == "sdpa"
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="CUDA"):
            pick_device("cuda")


def test_an_uncached_model_offline_is_a_clear_error(monkeypatch):
    from huggingface_hub import try_to_load_from_cache

    repo = "Qwen/Qwen3-VL-2B-Instruct"
    if isinstance(try_to_load_from_cache(repo, "config.json"), str):
        pytest.skip(f"{repo} is in this machine's cache")
    connections: list[object] = []

    def no_network(self: socket.socket, address: object) -> None:
        connections.append(address)
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as info:
        load_model(resolve_model(repo), LoadOptions(offline=True, device="cpu"))
    message = str(info.value)
    assert "no network" in message and "local" in message, message
    assert repo in message
    assert connections == []


def test_the_tiny_model_loads_for_inference(tiny_model_dir):
    loaded = load_model(resolve_model(str(tiny_model_dir)), LoadOptions(device="cpu"))
    model = loaded.model
    assert not any(m.training for m in model.modules())
    assert loaded.device == CPU and loaded.dtype == torch.float32
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert {p.device for p in model.parameters()} == {CPU}
    assert loaded.attention == "sdpa" and model.config._attn_implementation == "sdpa"
    assert loaded.quantization == "none"
    assert loaded.processor.tokenizer.padding_side == "left"
    assert loaded.spec.local
    assert "float32" in loaded.describe() and "cpu" in loaded.describe()


def test_a_folder_that_is_no_checkpoint_is_a_load_error(tmp_path):
    with pytest.raises(ModelLoadError):
        load_model(resolve_model(str(tmp_path)), LoadOptions(device="cpu", offline=True))


# -- prompts -----------------------------------------------------------------------------
def test_render_prompt_fills_variables():
    path = Path("/data/set/cat.final.JPG")
    template = "{filename}|{stem}|{ext}|{folder}|{path}"
    assert render_prompt(template, path) == "cat.final.JPG|cat.final|JPG|set|/data/set/cat.final.JPG"
    assert render_prompt("{path}", path, root=Path("/data")) == "set/cat.final.JPG"
    assert render_prompt("{path}", path, root=Path("/elsewhere")) == "/data/set/cat.final.JPG"


@pytest.mark.parametrize("template", [
    "Describe {unknown} in {0} and {}.",
    'Answer as JSON: {"caption": "...", "tags": []}',
    "Width {filename:>20} and {filename!r}",
    "An unbalanced { brace",
    "A lone } brace",
    "no variables at all",
])
def test_render_prompt_leaves_other_braces_alone(template):
    assert render_prompt(template, Path("/a/b.png")) == template


def test_split_reasoning():
    assert split_reasoning("A cat on a mat.") == ("", "A cat on a mat.")
    reasoning, answer = split_reasoning("<think>\nI see a cat.\n</think>\n\nA cat on a mat.")
    assert reasoning == "I see a cat."
    assert answer.strip() == "A cat on a mat."
    # Thinking templates open <think> in the prompt: the output has only the closing tag.
    assert split_reasoning("Looks like fur.</think>A cat.") == ("Looks like fur.", "A cat.")
    assert split_reasoning("a</think>b</think>c") == ("a", "b</think>c")


# -- no network: one quick check, then the cache only (issue 20) --------------------------
@pytest.fixture
def unreachable_hub(monkeypatch):
    """Online mode, with the hub check pointed at a closed loopback port; records every other
    connection attempt (and refuses it: the test must not reach the network)."""
    import huggingface_hub.constants

    from desktop_app.engine import hub

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setattr(hub, "hub_address", lambda: ("127.0.0.1", closed))
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if address != ("127.0.0.1", closed):
            attempts.append(address)
            raise OSError("the test forbids network access")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


def test_no_network_is_said_at_once_for_an_uncached_model(unreachable_hub, tmp_path, monkeypatch):
    import time

    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    started = time.perf_counter()
    with pytest.raises(ModelLoadError) as info:
        load_model(resolve_model("Qwen/Qwen3-VL-2B-Instruct"), LoadOptions(device="cpu"))
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert message.startswith("no network: cannot reach 127.0.0.1:"), message
    assert "not in the local cache" in message and "--model PATH" in message
    assert unreachable_hub == []  # no hub request, so none of its retries (minutes offline)
    assert elapsed < 30, elapsed  # was 140 s of retries here; the bound is loose for a busy CPU


def test_no_network_loads_a_cached_model_from_the_cache(unreachable_hub, tiny_model_dir, tmp_path, monkeypatch):
    import huggingface_hub.constants

    from desktop_app.engine.models import ModelSpec

    repo = "Qwen/Qwen3-VL-2B-Instruct"
    cache = tmp_path / "hub"
    snapshot = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for item in tiny_model_dir.iterdir():
        if item.is_file():
            (snapshot / item.name).symlink_to(item)
    (cache / f"models--{repo.replace('/', '--')}" / "refs").mkdir()
    (cache / f"models--{repo.replace('/', '--')}" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    spec = resolve_model(repo)
    assert isinstance(spec, ModelSpec) and not spec.local
    loaded = load_model(spec, LoadOptions(device="cpu"))
    assert loaded.spec.source == repo
    assert unreachable_hub == []
