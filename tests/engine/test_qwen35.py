"""Qwen3.5 (hybrid Gated-DeltaNet / attention) on the engine: fixtures, adapter, decode loop.

CPU, float32. Two fixtures: the project's own tiny Qwen3.5 (8 layers: 3 linear + 1 full,
twice; own tokenizer with the real added-token layout) and random weights around the real
Qwen3.5-0.8B files (4 layers, the 248,320-row vocabulary; skipped where the files are
missing). The reference is transformers' own `generate()` on each image alone.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from pathlib import Path

import pytest
import torch

from desktop_app.engine import CaptionEngine, CaptionItem, CaptionRequest, GenerationParams, LoadOptions
from desktop_app.engine.continuous import ContinuousRunner, StepMode, decode_step
from desktop_app.engine.runner import DecodeSettings
from tests.engine.test_continuous import (LIMITS, SAMPLING, SIZES, encode_images, generate_alone,
                                          prepared, run_all, stop_ids)
from tests.engine.test_engine import make_image

CPU = LoadOptions(device="cpu", dtype="fp32")
CACHE = Path(tempfile.gettempdir()) / "caption-studio-tests"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on cores shared with other processes, two spinning threads make a
    small model's steps 10-100x slower (the tokens do not depend on it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _key(*parts: bytes) -> str:
    """The builder's source (and what it reads) plus the transformers version that writes it."""
    import transformers

    h = hashlib.sha1(transformers.__version__.encode())
    for part in parts:
        h.update(part)
    return h.hexdigest()[:12]


def _sources() -> bytes:
    from desktop_app.testing import tiny_model, tiny_qwen35

    return Path(tiny_qwen35.__file__).read_bytes() + Path(tiny_model.__file__).read_bytes()


@pytest.fixture(scope="session")
def tiny_qwen35_dir() -> Path:
    from desktop_app.testing.tiny_qwen35 import build_tiny_qwen35

    path = CACHE / f"tiny-qwen3.5-{_key(_sources())}"
    if not (path / "model.safetensors").exists():
        build_tiny_qwen35(path)
    return path


@pytest.fixture(scope="session")
def tiny_qwen35_moe_dir() -> Path:
    from desktop_app.testing.tiny_qwen35 import build_tiny_qwen35

    path = CACHE / f"tiny-qwen3.5-moe-{_key(_sources())}"
    if not (path / "model.safetensors").exists():
        build_tiny_qwen35(path, moe=True)
    return path


@pytest.fixture(scope="session")
def shared_qwen35_dir() -> Path:
    from desktop_app.testing import tiny_qwen35

    reason = tiny_qwen35.missing_reason("0.8B")
    if reason is not None:
        pytest.skip(reason)
    digest = tiny_qwen35.files_digest(tiny_qwen35.shared_source_dir("0.8B")).encode()
    path = CACHE / f"Qwen3.5-0.8B-random-{_key(_sources(), digest)}"
    if not (path / "model.safetensors").exists():
        tiny_qwen35.build_shared_qwen35(path, "0.8B")
    return path


@pytest.fixture(scope="module", params=["tiny", "shared"])
def q35_dir(request: pytest.FixtureRequest) -> Path:
    """Token-level tests run on both fixtures."""
    return request.getfixturevalue("tiny_qwen35_dir" if request.param == "tiny" else "shared_qwen35_dir")


def load(folder: Path):
    from transformers import AutoModelForImageTextToText

    return AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def q35(q35_dir):
    return load(q35_dir), encode_images(q35_dir)


@pytest.fixture(scope="module")
def tiny(tiny_qwen35_dir):
    return load(tiny_qwen35_dir), encode_images(tiny_qwen35_dir)


# ----------------------------------------------------------------------------- fixtures
def test_the_project_tiny_model_has_the_real_layout(tiny_qwen35_dir):
    from transformers import AutoProcessor

    from desktop_app.testing import tiny_qwen35

    model = load(tiny_qwen35_dir)
    assert type(model).__name__ == "Qwen3_5ForConditionalGeneration"
    text = model.config.get_text_config()
    assert text.layer_types == ["linear_attention"] * 3 + ["full_attention"] + ["linear_attention"] * 3 + ["full_attention"]
    tok = AutoProcessor.from_pretrained(tiny_qwen35_dir).tokenizer
    added = sorted(tok.added_tokens_decoder.items())
    assert [(t.content, t.special) for _, t in added] == tiny_qwen35.ADDED_TOKENS
    assert [i for i, _ in added] == list(range(added[0][0], added[0][0] + 33))  # one block, in order
    assert tok.pad_token == "<|endoftext|>" and tok.unk_token is None
    assert model.config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    # <think> and </think> are not special: decoding keeps them.
    ids = tok("<think>x</think>y<|im_end|>")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<think>x</think>y"


def test_the_project_layout_equals_the_real_tokenizer_config():
    """The added tokens (order, special flags) are those of the real Qwen3.5 tokenizer_config."""
    from desktop_app.testing import tiny_qwen35

    if tiny_qwen35.missing_reason("0.8B"):
        pytest.skip(tiny_qwen35.missing_reason("0.8B"))
    config = json.loads((tiny_qwen35.shared_source_dir("0.8B") / "tokenizer_config.json").read_text())
    real = sorted((int(i), (t["content"], t["special"])) for i, t in config["added_tokens_decoder"].items())
    assert [t for _, t in real] == tiny_qwen35.ADDED_TOKENS
    assert real[0][0] == 248044


@pytest.mark.parametrize("name", ["tiny_qwen35_dir", "shared_qwen35_dir"])
def test_both_templates_have_the_thinking_switch(name, request):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(request.getfixturevalue(name))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe."}]}]
    render = lambda **kw: processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kw)  # noqa: E731
    head = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe.<|im_end|>\n<|im_start|>assistant\n"
    assert render(enable_thinking=True) == head + "<think>\n"
    assert render(enable_thinking=False) == head + "<think>\n\n</think>\n\n"
    assert render() == render(enable_thinking=False)  # 0.8B (and the tiny one): off by default


def test_the_shared_model_keeps_the_real_vocabulary_and_processor(shared_qwen35_dir):
    import numpy as np
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(shared_qwen35_dir)
    tok = processor.tokenizer
    assert len(tok) == 248077
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>",
                                                      "<|image_pad|>", "<think>", "</think>")}
    assert ids == {"<|endoftext|>": 248044, "<|im_start|>": 248045, "<|im_end|>": 248046,
                   "<|image_pad|>": 248056, "<think>": 248068, "</think>": 248069}
    model = load(shared_qwen35_dir)
    text = model.config.get_text_config()
    assert text.vocab_size == 248320 and text.num_hidden_layers == 4 and text.head_dim == 256
    assert model.lm_head.weight.data_ptr() != model.model.language_model.embed_tokens.weight.data_ptr()
    image = Image.fromarray(np.zeros((1024, 768, 3), dtype=np.uint8))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    batch = processor(text=[prompt], images=[image], return_tensors="pt")
    assert batch["image_grid_thw"].tolist() == [[1, 64, 48]]
    assert int((batch["input_ids"] == 248056).sum()) == 768


@pytest.mark.parametrize("name", ["tiny_qwen35_dir", "shared_qwen35_dir"])
def test_generate_runner_captions_with_both_fixtures(name, request, tmp_path):
    folder = request.getfixturevalue(name)
    paths = [make_image(tmp_path / f"{i}.png", size, 40 + i) for i, size in enumerate([(32, 32), (96, 64), (64, 160)])]
    engine = CaptionEngine(str(folder), options=CPU, runner="generate", workers=2)
    req = CaptionRequest(items=tuple(CaptionItem(p) for p in paths), params=GenerationParams(max_new_tokens=6))
    results = list(engine.caption(req))
    assert sorted(r.path for r in results) == sorted(paths)
    assert all(hasattr(r, "caption") and 1 <= r.tokens <= 6 for r in results), results
    engine.unload()


# ------------------------------------------------------------------------ the adapter
def test_the_self_check_passes_and_auto_picks_the_decode_loop(q35_dir, caplog):
    engine = CaptionEngine(str(q35_dir), options=CPU, runner="auto", workers=2)
    loaded = engine.load()
    assert loaded.runner == "continuous", loaded.runner_reason
    assert engine._adapter.family == "qwen3_5"
    assert not [r for r in caplog.records if r.levelname == "WARNING" and "generate()" in r.getMessage()]
    engine.unload()


def test_the_self_check_sees_a_lost_recurrent_state(tiny, monkeypatch):
    """A decode loop that forgets the prefill's linear-attention states fails the check."""
    from desktop_app.engine.adapters import adapter_for, self_check
    from desktop_app.engine.kv_cache import SlotCache

    model, encoded = tiny
    inp = prepared(encoded, 2, 4)
    args = (inp.input_ids, inp.mm_token_type_ids, inp.pixel_values, inp.image_grid_thw)
    adapter = adapter_for(model)
    assert self_check(adapter, *args).ok
    monkeypatch.setattr(SlotCache, "load_states", lambda self, rows, dst_slot, src_row: None)
    check = self_check(adapter, *args)
    assert not check.ok and "decode step 1" in check.detail


def test_bfloat16_decode_stays_as_close_to_the_forward_as_hf_own_decode(tiny_qwen35_dir, tiny):
    """bf16 (the GPU dtype): 8 decode steps stay within half the self-check's tolerance (HF's
    own cached decode drifts about 1e-2 here); and a row's tokens do not depend on how many
    slots run beside it."""
    from transformers import AutoModelForImageTextToText

    from desktop_app.engine.adapters import adapter_for, self_check

    _, encoded = tiny
    bf16 = AutoModelForImageTextToText.from_pretrained(tiny_qwen35_dir, dtype=torch.bfloat16).eval()
    inp = prepared(encoded, 2, 4)
    check = self_check(adapter_for(bf16), inp.input_ids, inp.mm_token_type_ids, inp.pixel_values,
                       inp.image_grid_thw, steps=8)
    assert check.ok and check.max_diff < check.tolerance / 2, check
    settings = DecodeSettings(stop_ids=stop_ids(bf16), ignore_eos=True)
    inputs = [prepared(encoded, k, 12) for k in range(6)]
    narrow, _, _ = run_all(ContinuousRunner(bf16, slots=2, prefill_batch=1, cuda_graph=False), inputs, settings)
    wide, _, _ = run_all(ContinuousRunner(bf16, slots=6, prefill_batch=1, cuda_graph=False), inputs, settings)
    assert narrow == wide


def test_only_attention_layers_keep_kv_and_the_states_do_not_grow(tiny):
    model, encoded = tiny
    runner = ContinuousRunner(model, slots=3, cuda_graph=False)
    settings = DecodeSettings(stop_ids=stop_ids(model), ignore_eos=True)
    run_all(runner, [prepared(encoded, 0, 3)], settings)
    states = [tuple(t.shape) for t in runner.cache.states.tensors]
    first_len = runner.cache.max_len
    done, _, _ = run_all(runner, [prepared(encoded, k, 150) for k in (4, 5)], settings)
    assert runner.cache.max_len > first_len and runner.stats.extra["cache_grows"] >= 1
    assert [tuple(t.shape) for t in runner.cache.states.tensors] == states  # fixed size per slot
    assert len(runner.cache.k) == 2  # 8 layers, 2 of them full attention
    la = model.model.language_model.layers[0].linear_attn
    assert states[:2] == [(3, 2 * la.key_dim + la.value_dim, la.conv_kernel_size),
                          (3, la.num_v_heads, la.head_k_dim, la.head_v_dim)]
    assert all(len(r.token_ids) == 150 for r in done.values())


def test_slots_for_memory_counts_attention_kv_and_the_fixed_states(tiny):
    model, _ = tiny
    text = model.config.get_text_config()
    la = model.model.language_model.layers[0].linear_attn
    per_token = 2 * 2 * text.num_key_value_heads * text.head_dim * 4  # 2 attention layers, fp32
    state = 6 * ((2 * la.key_dim + la.value_dim) * la.conv_kernel_size * 4 + la.value_dim * la.head_k_dim * 4)
    per_slot = per_token * 512 + state + text.vocab_size * 17
    slots = ContinuousRunner.slots_for_memory(model, free_bytes=per_slot * 100, max_len=512, fraction=0.5)
    assert slots == 50


# ------------------------------------------------------------- correctness (CPU, fp32)
def test_greedy_matches_generate_with_refills(q35):
    model, encoded = q35
    inputs = [prepared(encoded, k, LIMITS[k]) for k in range(len(SIZES))]
    runner = ContinuousRunner(model, slots=4, prefill_batch=3, cuda_graph=False)
    done, failed, streamed = run_all(runner, inputs, DecodeSettings(stop_ids=stop_ids(model)), check_lazy=4)
    assert not failed and len(done) == len(inputs)
    for inp in inputs:
        expected, stopped = generate_alone(model, inp)
        row = done[(inp.key, 0)]
        assert list(row.token_ids) == expected, f"image {inp.key}"
        assert row.stopped == stopped
        assert streamed.get((inp.key, 0), []) == list(row.token_ids)
    assert runner.stats.extra["cache_grows"] >= 1
    assert runner.stats.extra["prefills"] == len(inputs) and runner.stats.extra["prefill_calls"] < len(inputs)


def test_seeded_sampling_is_equal_alone_and_in_a_busy_batch(q35):
    model, encoded = q35
    settings = DecodeSettings(stop_ids=stop_ids(model), repetition_penalty=1.2, **SAMPLING)
    keys = range(6)
    busy = ContinuousRunner(model, slots=4, prefill_batch=2, cuda_graph=False)
    together, _, _ = run_all(busy, [prepared(encoded, k, 20, seeds=(100 + k,)) for k in keys], settings)
    alone = ContinuousRunner(model, slots=1, cuda_graph=False)
    for k in keys:
        solo, _, _ = run_all(alone, [prepared(encoded, k, 20, seeds=(100 + k,))], settings)
        assert solo[(k, 0)] == together[(k, 0)], f"image {k}"
    other, _, _ = run_all(alone, [prepared(encoded, 0, 20, seeds=(999,))], settings)
    assert other[(0, 0)].token_ids != together[(0, 0)].token_ids


def test_variants_fan_out_from_one_prefill(tiny):
    model, encoded = tiny
    settings = DecodeSettings(stop_ids=stop_ids(model), **SAMPLING)
    seeds = (11, 22, 33)
    runner = ContinuousRunner(model, slots=4, cuda_graph=False)
    done, failed, streamed = run_all(runner, [prepared(encoded, 3, 20, seeds=seeds)], settings)
    assert not failed and runner.stats.extra["prefills"] == 1 and runner.stats.batches == 1
    assert len({done[(3, v)].token_ids for v in range(3)}) == 3
    for variant, seed in enumerate(seeds):
        alone, _, _ = run_all(ContinuousRunner(model, slots=1, cuda_graph=False),
                              [prepared(encoded, 3, 20, seeds=(seed,))], settings)
        assert alone[(3, 0)].token_ids == done[(3, variant)].token_ids
        assert streamed[(3, variant)] == list(done[(3, variant)].token_ids)


def test_cancel_stops_within_one_step_and_the_runner_is_reusable(tiny):
    model, encoded = tiny
    cancel, calls = threading.Event(), []

    def on_tokens(batch):
        calls.append(batch)
        if len(calls) == 3:
            cancel.set()

    runner = ContinuousRunner(model, slots=2, cuda_graph=False)
    settings = DecodeSettings(stop_ids=stop_ids(model), ignore_eos=True)
    inputs = [prepared(encoded, k, 30) for k in range(6)]
    assert list(runner.run(iter(inputs), settings, cancel, on_tokens)) == [] and len(calls) == 3
    done, failed, _ = run_all(runner, inputs[:2], settings)
    clean, _, _ = run_all(ContinuousRunner(model, slots=2, cuda_graph=False), inputs[:2], settings)
    assert done == clean and not failed  # the cancelled rows' states left nothing behind


def test_graph_warmup_steps_do_not_disturb_the_recurrent_states(tiny):
    """Capturing a graph mid-run first runs real steps: the linear layers' states go back too."""
    model, encoded = tiny
    settings = DecodeSettings(stop_ids=stop_ids(model), repetition_penalty=1.3, **SAMPLING)
    inputs = [prepared(encoded, k, 15, seeds=(k,)) for k in range(5)]
    clean, _, _ = run_all(ContinuousRunner(model, slots=3, cuda_graph=False), inputs, settings)
    runner = ContinuousRunner(model, slots=3, cuda_graph=False)
    steps = [0]

    def on_tokens(batch):
        steps[0] += 1
        if steps[0] in (2, 9):
            runner._discarded_steps(StepMode.of(settings), 3)

    outputs = list(runner.run(iter(inputs), settings, threading.Event(), on_tokens))
    assert {(o.key, o.variant): o for o in outputs} == clean


def test_decode_step_is_one_graph_without_host_syncs(tiny):
    """The hybrid step (conv window, delta rule, gated attention) traces as one dynamo graph."""
    model, _ = tiny
    runner = ContinuousRunner(model, slots=3, max_len=64, cuda_graph=False)
    runner.warmup()
    settings = DecodeSettings(stop_ids=frozenset(), repetition_penalty=1.3, presence_penalty=0.2, **SAMPLING)
    runner.state.set_sampling(settings)
    torch._dynamo.reset()
    with torch.inference_mode():
        explained = torch._dynamo.explain(decode_step)(runner.adapter, runner.cache, runner.state,
                                                        StepMode.of(settings))
    torch._dynamo.reset()
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1


def test_the_engine_on_the_decode_loop_equals_generate(shared_qwen35_dir, tmp_path):
    """End to end with the real tokenizer: same captions and token counts as generate()."""
    paths = [make_image(tmp_path / f"{i}.png", size, 90 + i)
             for i, size in enumerate([(32, 32), (96, 64), (64, 128), (128, 96), (48, 48)])]
    request = CaptionRequest(items=tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(paths, [5, 20, 9, 14, 3])),
                             batch_size=2, params=GenerationParams(max_new_tokens=20))
    loop = CaptionEngine(str(shared_qwen35_dir), options=CPU, workers=2)
    assert loop.load().runner == "continuous"
    got = {r.path: r for r in loop.caption(request)}
    assert type(loop.runner).__name__ == "ContinuousRunner"
    reference = CaptionEngine(str(shared_qwen35_dir), options=CPU, runner="generate", workers=2)
    for item in request.items:
        (alone,) = list(reference.caption(CaptionRequest(items=(item,), batch_size=1, params=request.params)))
        assert got[item.path].caption == alone.caption and got[item.path].tokens == alone.tokens
    loop.unload()
    reference.unload()


def test_the_moe_variant_runs_on_the_decode_loop_and_equals_generate(tiny_qwen35_moe_dir, tmp_path):
    paths = [make_image(tmp_path / f"{i}.png", size, 70 + i) for i, size in enumerate([(32, 32), (96, 64), (64, 128)])]
    request = CaptionRequest(items=tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(paths, [5, 16, 9])),
                             batch_size=2, params=GenerationParams(max_new_tokens=16))
    loop = CaptionEngine(str(tiny_qwen35_moe_dir), options=CPU, workers=2)
    loaded = loop.load()
    assert type(loaded.model).__name__ == "Qwen3_5MoeForConditionalGeneration"
    assert loaded.runner == "continuous", loaded.runner_reason
    got = {r.path: r for r in loop.caption(request)}
    assert loop.runner.adapter.family == "qwen3_5_moe" and not loop.runner.adapter.graph_safe
    reference = CaptionEngine(str(tiny_qwen35_moe_dir), options=CPU, runner="generate", workers=2)
    for item in request.items:
        (alone,) = list(reference.caption(CaptionRequest(items=(item,), batch_size=1, params=request.params)))
        assert got[item.path].caption == alone.caption and got[item.path].tokens == alone.tokens
    loop.unload()
    reference.unload()


# ------------------------------------------------------------------------ model names
@pytest.mark.parametrize("arg, name", [
    ("3.5-4B", "Qwen3.5-4B"), ("qwen3.5-0.8b", "Qwen3.5-0.8B"), ("Qwen/Qwen3.5-35B-A3B", "Qwen3.5-35B-A3B"),
    ("3.5-122b-a10b", "Qwen3.5-122B-A10B"), ("3.6-27B", "Qwen3.6-27B"), ("3.6-35B-A3B", "Qwen3.6-35B-A3B"),
])
def test_qwen35_short_names(arg, name):
    from desktop_app.engine.models import KNOWN_MODELS, resolve_model

    spec = resolve_model(arg)
    assert spec is KNOWN_MODELS[name] and spec.source == f"Qwen/{name}" and spec.params_b > 0
    assert spec.moe == ("-A" in name)
    assert resolve_model("2B").name == "Qwen3-VL-2B-Instruct"  # the Qwen3-VL short names stay


def test_every_qwen35_size_is_known_and_other_repos_pass_through():
    from desktop_app.engine.models import KNOWN_MODELS, resolve_model

    for size in ("0.8B", "2B", "4B", "9B", "27B", "35B-A3B", "122B-A10B"):
        assert f"Qwen3.5-{size}" in KNOWN_MODELS
    spec = resolve_model("someone/Qwen3.5-122B-A10B-finetune")
    assert spec.moe and not spec.local and spec.source == "someone/Qwen3.5-122B-A10B-finetune"
    with pytest.raises(ValueError, match="unknown model"):
        resolve_model("3.5-7B")


def _template_opens_thinking(template: str) -> bool:
    """The generation prompt of a raw chat template (rendered as transformers renders it)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def fail(message):
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = fail
    text = env.from_string(template).render(messages=[{"role": "user", "content": "x"}], add_generation_prompt=True)
    return text.endswith("<think>\n")


@pytest.mark.parametrize("size", ["0.8B", "2B", "4B", "35B-A3B"])
def test_the_thinking_default_of_each_size_is_its_templates(size):
    """The model list says a size reasons by default exactly where its real template opens
    <think> without `enable_thinking` (0.8B, 2B: off; 4B and larger: on)."""
    from desktop_app.engine.models import KNOWN_MODELS
    from desktop_app.testing import tiny_qwen35

    template = tiny_qwen35.shared_models_dir() / "Qwen3.5-rebuilt" / f"Qwen3.5-{size}" / "chat_template.jinja"
    if not template.is_file():
        pytest.skip(f"{template} is missing")
    assert KNOWN_MODELS[f"Qwen3.5-{size}"].thinking == _template_opens_thinking(template.read_text())


# --------------------------------------------------------------------- thinking switch
def _results(engine, paths, **request):
    req = CaptionRequest(items=tuple(CaptionItem(p) for p in paths), params=GenerationParams(max_new_tokens=8),
                         **request)
    return {r.path: r for r in engine.caption(req)}


def test_the_thinking_switch_reaches_the_template_and_splits_the_reasoning(tiny_qwen35_dir, tmp_path):
    """on: the prompt opens <think>, so the rows are reasoning (random weights never close it:
    no caption, the text kept as reasoning); off and default (off for this size): a caption."""
    from desktop_app.engine.prepare import InputBuilder

    paths = [make_image(tmp_path / f"{i}.png", size, 20 + i) for i, size in enumerate([(32, 32), (64, 96)])]
    engine = CaptionEngine(str(tiny_qwen35_dir), options=CPU, workers=2)
    loaded = engine.load()
    tok = loaded.processor.tokenizer
    for thinking, tail in ((True, "<|im_start|>assistant\n<think>\n"),
                           (False, "<|im_start|>assistant\n<think>\n\n</think>\n\n")):
        builder = InputBuilder(loaded.processor, "Describe.", None, 64 * 64, thinking=thinking)
        inp = builder.build(0, paths[0], builder.pixels(paths[0]), 4, (0,))
        assert tok.decode(inp.input_ids).endswith(tail) and builder.opens_thinking() == thinking
    on = _results(engine, paths, thinking=True)
    off = _results(engine, paths, thinking=False)
    default = _results(engine, paths)
    for path in paths:
        assert on[path].caption == "" and on[path].reasoning and on[path].problem == "reasoning_unfinished"
        assert off[path].caption and off[path].reasoning == "" and off[path].has_text
        assert (default[path].caption, default[path].tokens) == (off[path].caption, off[path].tokens)
        assert (on[path].metadata["thinking"], off[path].metadata["thinking"]) == (True, False)
        assert "thinking" not in default[path].metadata
    engine.unload()


def test_thinking_on_for_a_template_without_the_switch_changes_nothing(tiny_model_dir, tmp_path):
    """Qwen3-VL Instruct's template ignores enable_thinking: the rows are captions, not reasoning."""
    paths = [make_image(tmp_path / "a.png", (48, 48), 5)]
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, workers=2)
    on, plain = _results(engine, paths, thinking=True), _results(engine, paths)
    assert on[paths[0]].caption and on[paths[0]].caption == plain[paths[0]].caption
    assert on[paths[0]].reasoning == ""
    engine.unload()


def test_the_cli_thinking_flag(tiny_qwen35_dir, tmp_path, capsys):
    from desktop_app.cli import main

    folder, data = tmp_path / "photos", tmp_path / "data"
    folder.mkdir()
    image = make_image(folder / "a.png", (48, 64), 3)
    base = ["caption", str(folder), "--model", str(tiny_qwen35_dir), "--max-new-tokens", "6",
            "--data-dir", str(data), "--quiet", "--device", "cpu", "--dtype", "fp32"]
    assert main(base + ["--thinking", "on"]) == 1  # the reasoning never ended: no caption
    assert "reasoning did not finish" in capsys.readouterr().err
    assert not image.with_suffix(".txt").exists()
    assert main(base + ["--thinking", "off"]) == 0
    assert image.with_suffix(".txt").read_text().strip()
    assert main(["caption", str(folder), "--endpoint", "http://127.0.0.1:9", "--thinking", "on",
                 "--data-dir", str(data), "--quiet"]) == 2
    assert "--thinking applies to a local model" in capsys.readouterr().err
