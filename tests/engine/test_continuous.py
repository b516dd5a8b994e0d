"""ContinuousRunner on the tiny random Qwen3-VL (CPU, float32, eager decode step).

The reference is transformers' own `generate()` on each image alone; the runner must give the
same tokens whatever else shares its slots, refill slots as rows finish, pull inputs lazily,
share one prefill between variants, stop on cancel and isolate failing inputs.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from desktop_app.engine.continuous import LEN_ALIGN, ContinuousRunner
from desktop_app.engine.runner import DecodeSettings, InputFailed, PreparedInput, RowDone

# (width, height) of the noise images: mixed sizes give mixed prompt lengths.
SIZES = [(32, 32), (64, 32), (48, 48), (32, 96), (200, 96), (96, 160), (128, 128), (160, 64),
         (64, 200), (100, 100), (80, 40), (150, 150)]
LIMITS = [3, 5, 4, 8, 40, 33, 12, 27, 38, 21, 16, 30]  # short first: the cache must grow later


def load_model(folder):
    from transformers import Qwen3VLForConditionalGeneration

    return Qwen3VLForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()


def encode_images(folder):
    """Processor outputs for every image of SIZES (seeded noise)."""
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]}]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    rng = np.random.default_rng(1234)
    out = []
    for width, height in SIZES:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        out.append(processor(text=[text], images=[image], return_tensors="pt"))
    return out


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="module")
def encoded(tiny_model_dir):
    return encode_images(tiny_model_dir)


# The tests about the tokens a caption gets (greedy == generate(), stops, seeds) also run on the
# real Qwen3-VL-2B files with random weights: 151,936-row vocabulary, real stop ids
# [151645, 151643], the real processor's image sizes and chat template.
@pytest.fixture(scope="module")
def text_model(text_model_dir):
    return load_model(text_model_dir)


@pytest.fixture(scope="module")
def text_encoded(text_model_dir):
    return encode_images(text_model_dir)


def prepared(encoded, key: int, max_new_tokens: int, seeds=(0,)) -> PreparedInput:
    batch = encoded[key]
    return PreparedInput(key=key, input_ids=batch["input_ids"][0],
                         mm_token_type_ids=batch["mm_token_type_ids"][0],
                         pixel_values=batch["pixel_values"], image_grid_thw=batch["image_grid_thw"],
                         max_new_tokens=max_new_tokens, seeds=tuple(seeds))


def stop_ids(model) -> frozenset[int]:
    eos = model.generation_config.eos_token_id
    return frozenset(eos if isinstance(eos, list) else [eos])


def run_all(runner, inputs, settings, cancel=None, check_lazy: int | None = None):
    """Run; returns ({(key, variant): RowDone}, [InputFailed], streamed tokens per row)."""
    streamed: dict[tuple[int, int], list[int]] = {}
    pulled = [0]

    def source():
        for inp in inputs:
            pulled[0] += 1
            yield inp

    def on_tokens(batch):
        for key, variant, token in batch:
            streamed.setdefault((key, variant), []).append(token)

    done, failed = {}, []
    for out in runner.run(source(), settings, cancel or threading.Event(), on_tokens):
        if isinstance(out, RowDone):
            done[(out.key, out.variant)] = out
        else:
            failed.append(out)
        if check_lazy is not None:  # never more inputs in hand than slots can hold
            assert pulled[0] <= len(done) + len(failed) + check_lazy
    return done, failed, streamed


def generate_alone(model, inp: PreparedInput, stops: frozenset[int] | None = None) -> tuple[list[int], bool]:
    """Greedy tokens of generate() on one image, without the stop token; and whether it stopped."""
    stops = stop_ids(model) if stops is None else stops
    out = model.generate(input_ids=inp.input_ids[None], attention_mask=torch.ones_like(inp.input_ids)[None],
                         pixel_values=inp.pixel_values, image_grid_thw=inp.image_grid_thw,
                         mm_token_type_ids=inp.mm_token_type_ids[None], max_new_tokens=inp.max_new_tokens,
                         do_sample=False, eos_token_id=sorted(stops),
                         pad_token_id=model.generation_config.pad_token_id)
    tokens = out[0, inp.input_ids.numel():].tolist()
    if tokens and tokens[-1] in stops:
        return tokens[:-1], True
    return tokens, False


def test_greedy_matches_generate_with_refills(text_model, text_encoded):
    inputs = [prepared(text_encoded, k, LIMITS[k]) for k in range(len(SIZES))]
    runner = ContinuousRunner(text_model, slots=4, prefill_batch=3, cuda_graph=False)
    done, failed, streamed = run_all(runner, inputs, DecodeSettings(stop_ids=stop_ids(text_model)), check_lazy=4)
    assert not failed and len(done) == len(inputs)
    for inp in inputs:
        expected, stopped = generate_alone(text_model, inp)
        row = done[(inp.key, 0)]
        assert list(row.token_ids) == expected, f"image {inp.key}"
        assert row.stopped == stopped
        assert streamed.get((inp.key, 0), []) == list(row.token_ids)  # streaming adds up
    # Later, longer inputs grew the cache (where the first allocation cannot hold them: the
    # real processor's 256x256 minimum makes every prompt about as long).
    need = [int(i.input_ids.numel()) + i.max_new_tokens for i in inputs]
    if max(need) > -(-max(need[:4]) // LEN_ALIGN) * LEN_ALIGN:
        assert runner.stats.extra["cache_grows"] >= 1
    assert runner.stats.extra["prefills"] == len(inputs)


def test_a_stop_token_ends_its_row_as_in_generate(text_model, text_encoded):
    """Random weights rarely emit a stop id: make a token row 0 is about to emit one. That row
    stops there (the stop token not in its tokens), the others go on, all as generate() says."""
    inputs = [prepared(text_encoded, k, 12) for k in range(5)]
    plain, _, _ = run_all(ContinuousRunner(text_model, slots=3, cuda_graph=False), inputs,
                          DecodeSettings(stop_ids=stop_ids(text_model)))
    ids = plain[(0, 0)].token_ids
    at = next(j for j in range(2, len(ids)) if ids[j] not in ids[:j])
    stops = stop_ids(text_model) | {ids[at]}
    done, failed, streamed = run_all(ContinuousRunner(text_model, slots=3, cuda_graph=False), inputs,
                                     DecodeSettings(stop_ids=stops))
    assert not failed
    assert done[(0, 0)].token_ids == ids[:at] and done[(0, 0)].stopped
    for inp in inputs:
        expected, stopped = generate_alone(text_model, inp, stops)
        assert list(done[(inp.key, 0)].token_ids) == expected and done[(inp.key, 0)].stopped == stopped
        assert streamed.get((inp.key, 0), []) == expected  # the stop token is never streamed


def test_ignore_eos_runs_every_row_to_its_limit(text_model, text_encoded):
    inputs = [prepared(text_encoded, k, LIMITS[k]) for k in range(6)]
    runner = ContinuousRunner(text_model, slots=3, cuda_graph=False)
    settings = DecodeSettings(stop_ids=stop_ids(text_model), ignore_eos=True)
    done, failed, streamed = run_all(runner, inputs, settings)
    assert not failed
    for inp in inputs:
        row = done[(inp.key, 0)]
        assert len(row.token_ids) == inp.max_new_tokens and not row.stopped
        assert streamed[(inp.key, 0)] == list(row.token_ids)


SAMPLING = dict(temperature=0.8, top_k=20, top_p=0.9)


def test_seeded_sampling_is_batch_invariant(text_model, text_encoded):
    settings = DecodeSettings(stop_ids=stop_ids(text_model), repetition_penalty=1.2, **SAMPLING)
    keys = range(8)
    busy = ContinuousRunner(text_model, slots=4, prefill_batch=2, cuda_graph=False)
    together, _, _ = run_all(busy, [prepared(text_encoded, k, 24, seeds=(100 + k,)) for k in keys], settings)
    alone = ContinuousRunner(text_model, slots=1, cuda_graph=False)
    for k in keys:
        solo, _, _ = run_all(alone, [prepared(text_encoded, k, 24, seeds=(100 + k,))], settings)
        assert solo[(k, 0)] == together[(k, 0)], f"image {k}"
    other, _, _ = run_all(alone, [prepared(text_encoded, 0, 24, seeds=(999,))], settings)
    assert other[(0, 0)].token_ids != together[(0, 0)].token_ids


def test_variants_share_one_prefill(text_model, text_encoded):
    settings = DecodeSettings(stop_ids=stop_ids(text_model), **SAMPLING)
    seeds = (11, 22, 33)
    runner = ContinuousRunner(text_model, slots=4, cuda_graph=False)
    done, failed, streamed = run_all(runner, [prepared(text_encoded, 3, 20, seeds=seeds)], settings)
    assert not failed and runner.stats.extra["prefills"] == 1 and runner.stats.batches == 1
    assert len({done[(3, v)].token_ids for v in range(3)}) == 3  # different seeds, different text
    for variant, seed in enumerate(seeds):
        single = ContinuousRunner(text_model, slots=1, cuda_graph=False)
        alone, _, _ = run_all(single, [prepared(text_encoded, 3, 20, seeds=(seed,))], settings)
        assert alone[(3, 0)].token_ids == done[(3, variant)].token_ids
        assert streamed[(3, variant)] == list(done[(3, variant)].token_ids)


def test_cancel_stops_within_one_step(model, encoded):
    cancel = threading.Event()
    calls = []

    def on_tokens(batch):
        calls.append(batch)
        if len(calls) == 3:
            cancel.set()

    runner = ContinuousRunner(model, slots=2, cuda_graph=False)
    settings = DecodeSettings(stop_ids=stop_ids(model), ignore_eos=True)
    inputs = [prepared(encoded, k, 30) for k in range(6)]
    outputs = list(runner.run(iter(inputs), settings, cancel, on_tokens))
    assert len(calls) == 3 and outputs == []  # nothing after the step that saw the cancel
    # The runner is reusable after a cancel.
    done, failed, _ = run_all(runner, inputs[:2], settings)
    assert sorted(done) == [(0, 0), (1, 0)] and not failed


def test_failing_inputs_are_reported_and_others_complete(model, encoded):
    good = [prepared(encoded, k, 10) for k in range(4)]
    wrong_dim = prepared(encoded, 4, 10)  # passes the cheap checks, fails inside the vision tower
    wrong_dim.pixel_values = wrong_dim.pixel_values[:, :-4]
    wrong_count = prepared(encoded, 5, 10)  # fewer patches than its grid says
    wrong_count.pixel_values = wrong_count.pixel_values[:-4]
    inputs = [good[0], wrong_dim, good[1], wrong_count, good[2], good[3]]
    runner = ContinuousRunner(model, slots=8, prefill_batch=4, cuda_graph=False)
    settings = DecodeSettings(stop_ids=stop_ids(model))
    done, failed, _ = run_all(runner, inputs, settings)
    assert sorted(f.key for f in failed) == [4, 5] and all(f.reason for f in failed)
    clean, _, _ = run_all(ContinuousRunner(model, slots=8, cuda_graph=False), good, settings)
    assert done == clean


def test_slots_for_memory(model):
    text = model.config.text_config
    per_token = 2 * text.num_hidden_layers * text.num_key_value_heads * text.head_dim * 4
    slots = ContinuousRunner.slots_for_memory(model, free_bytes=per_token * 512 * 100, max_len=512, fraction=0.5)
    assert 40 <= slots <= 50  # about half of 100 slots' worth (minus per-slot vocab buffers)
    assert ContinuousRunner.slots_for_memory(model, free_bytes=1, max_len=512) == 1


def test_graph_warmup_steps_do_not_disturb_rows_in_flight(model, encoded):
    """Capturing mid-run (after the cache grows) first runs real steps and undoes them."""
    from desktop_app.engine.continuous import StepMode

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


def test_decode_step_is_one_graph_without_host_syncs(model):
    """What CUDA graph capture needs, checked on the CPU: dynamo traces the step in one piece
    (a host sync such as .item()/bool(tensor) or a data-dependent branch would break it)."""
    from desktop_app.engine.continuous import StepMode, decode_step

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


def test_bfloat16_decode_is_batch_invariant(tiny_model_dir, encoded):
    """bf16 (the GPU dtype): one row's tokens do not depend on how many slots run beside it."""
    from transformers import Qwen3VLForConditionalGeneration

    bf16 = Qwen3VLForConditionalGeneration.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).eval()
    settings = DecodeSettings(stop_ids=stop_ids(bf16), ignore_eos=True)
    inputs = [prepared(encoded, k, 12) for k in range(6)]
    # prefill_batch=1: a padded bf16 prefill batch is not invariant (HF's forward, known).
    narrow, _, _ = run_all(ContinuousRunner(bf16, slots=2, prefill_batch=1, cuda_graph=False), inputs, settings)
    wide, _, _ = run_all(ContinuousRunner(bf16, slots=6, prefill_batch=1, cuda_graph=False), inputs, settings)
    assert narrow == wide and all(len(r.token_ids) == 12 for r in wide.values())


def test_out_of_memory_prefill_retries_in_halves(model, encoded):
    """A group that runs out of memory is retried in halves; an input that alone does not fit
    fails, the others complete as if nothing happened."""
    inputs = [prepared(encoded, k, 6) for k in range(5)]
    settings = DecodeSettings(stop_ids=stop_ids(model), ignore_eos=True)
    clean, _, _ = run_all(ContinuousRunner(model, slots=8, cuda_graph=False), inputs, settings)
    runner = ContinuousRunner(model, slots=8, prefill_batch=8, cuda_graph=False)
    real_prefill = runner._prefill

    def tight_memory(group, slot_lists):
        if len(group) > 2 or any(inp.key == 4 for inp in group):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_prefill(group, slot_lists)

    runner._prefill = tight_memory
    done, failed, _ = run_all(runner, inputs, settings)
    assert [f.key for f in failed] == [4] and "out of memory" in failed[0].reason
    assert done == {k: v for k, v in clean.items() if k[0] != 4}


def test_rows_with_different_settings_share_steps_and_match_each_alone(model, encoded):
    """Per-row settings: greedy, sampled (two top_k values, top_k off) and penalised rows decode
    in the same steps, and each gives exactly the tokens it gives alone in a one-slot runner."""
    from desktop_app.engine.continuous import StepMode

    stops = stop_ids(model)
    kinds = [DecodeSettings(stops),
             DecodeSettings(stops, temperature=0.9, top_p=0.9, top_k=20),
             DecodeSettings(stops, temperature=1.1, top_p=1.0, top_k=0, presence_penalty=0.4),
             DecodeSettings(stops, repetition_penalty=1.3),
             DecodeSettings(stops, temperature=0.7, top_p=0.8, top_k=5, repetition_penalty=1.1)]
    inputs = []
    for k in range(10):
        inp = prepared(encoded, k, LIMITS[k] + 4, seeds=(k + 100,))
        inp.settings = kinds[k % len(kinds)]
        inputs.append(inp)
    modes = []
    runner = ContinuousRunner(model, slots=4, prefill_batch=2, cuda_graph=False)
    step = runner.step
    runner.step = lambda on_tokens: (modes.append(StepMode.of_rows(
        r.settings for r in runner.rows if r is not None)), step(on_tokens))[1]
    mixed, failed, _ = run_all(runner, inputs, kinds[0])
    assert not failed and len(mixed) == len(inputs)
    assert any(not m.greedy and m.penalties for m in modes)  # mixed rows really shared steps
    for inp in inputs:
        alone, _, _ = run_all(ContinuousRunner(model, slots=1, cuda_graph=False), [inp], kinds[0])
        assert alone[(inp.key, 0)] == mixed[(inp.key, 0)], inp.settings
