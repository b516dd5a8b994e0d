"""The real Qwen3-VL-2B checkpoint files (tokenizer, templates, processor and model configs)
around random weights: what they load as, and what the engine does with them.

The folders are built by `desktop_app.testing.real_model` from `../shared/models` (or
$CAPTION_STUDIO_SHARED_MODELS); these tests skip where those files are missing.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from desktop_app.engine import CaptionEngine, CaptionRequest, GenerationParams, LoadOptions

CPU = LoadOptions(device="cpu", dtype="fp32")
THINK, END_THINK, IM_END, ENDOFTEXT, IMAGE_PAD = 151667, 151668, 151645, 151643, 151655


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "noise.png"
    Image.frombytes("RGB", (96, 64), random.Random(3).randbytes(96 * 64 * 3)).save(path)
    return path


@pytest.mark.parametrize("kind", ["instruct", "thinking"])
def test_the_folder_loads_as_the_real_checkpoint_does(kind, request):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    folder = request.getfixturevalue(f"real_{kind}_dir")
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    tok = processor.tokenizer
    assert type(processor).__name__ == "Qwen3VLProcessor" and len(tok) == 151669
    assert tok("Hello, world!", add_special_tokens=False)["input_ids"] == [9707, 11, 1879, 0]
    assert tok.convert_tokens_to_ids(["<think>", "</think>"]) == [THINK, END_THINK]
    assert THINK not in tok.all_special_ids and IM_END in tok.all_special_ids
    assert (tok.pad_token_id, tok.eos_token_id) == (ENDOFTEXT, IM_END)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi."}]}]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    opening = "<|im_start|>assistant\n<think>\n" if kind == "thinking" else "<|im_start|>assistant\n"
    assert prompt.endswith(opening) and "<|vision_start|><|image_pad|><|vision_end|>" in prompt
    out = processor(text=[prompt], images=[Image.new("RGB", (1024, 768))], return_tensors="pt")
    assert out["image_grid_thw"].tolist() == [[1, 48, 64]]
    assert int((out["input_ids"] == IMAGE_PAD).sum()) == 768 == int((out["mm_token_type_ids"] == 1).sum())

    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    text = model.config.text_config
    # The file says rope_scaling (4.x); transformers 5 reads it as rope_parameters.
    assert text.rope_parameters["mrope_section"] == [2, 3, 3] and text.vocab_size == 151936
    assert model.lm_head.weight.data_ptr() != model.model.language_model.embed_tokens.weight.data_ptr()
    eos = model.generation_config.eos_token_id
    # Instruct ships generation_config.json; the Thinking set has none, so the model config's
    # single eos is all transformers knows of.
    assert eos == ([IM_END, ENDOFTEXT] if kind == "instruct" else IM_END)


def test_a_thinking_checkpoint_is_told_by_its_template_whatever_its_folder_name(
        real_thinking_dir, real_instruct_dir, tmp_path):
    renamed = shutil.copytree(real_thinking_dir, tmp_path / "my-finetune")
    engine = CaptionEngine(str(renamed), options=CPU, runner="generate")
    assert not engine.spec.thinking  # the name says nothing
    assert engine.load().spec.thinking  # the template opens <think>
    engine.unload()
    instruct = CaptionEngine(str(real_instruct_dir), options=CPU, runner="generate")
    assert not instruct.load().spec.thinking
    instruct.unload()


def test_the_loader_needs_no_hub_kernels(tiny_model_dir, monkeypatch):
    """transformers 5.25 defaults from_pretrained to use_kernels=True (Hub kernels, and an
    error without the `kernels` package): the loader turns that off itself."""
    from desktop_app.engine.loading import load_model
    from desktop_app.engine.models import resolve_model

    monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    loaded = load_model(resolve_model(str(tiny_model_dir)), CPU)
    assert not getattr(loaded.model, "use_kernels", False)


def _force_token(engine: CaptionEngine, token: int, like: int) -> None:
    """Make `token` win wherever `like` would (its lm_head row a hair above `like`'s)."""
    weight = engine.loaded.model.lm_head.weight
    with torch.no_grad():
        weight[token] = weight[like] * 1.001


def _caption_ids(engine: CaptionEngine, request: CaptionRequest, monkeypatch) -> list[tuple]:
    """Run `request`; the results and each row's token ids (the stop token left out)."""
    from desktop_app.engine.tracker import JobTracker

    rows: list[tuple[int, ...]] = []
    original = JobTracker.row_done

    def row_done(self, row):
        rows.append(row.token_ids)
        original(self, row)

    monkeypatch.setattr(JobTracker, "row_done", row_done)
    results = list(engine.caption(request))
    monkeypatch.setattr(JobTracker, "row_done", original)
    return list(zip(results, rows))


@pytest.mark.parametrize("runner", ["generate", "continuous"])
def test_every_qwen_stop_token_ends_a_caption_without_a_generation_config(
        real_thinking_dir, image, runner, monkeypatch):
    engine = CaptionEngine(str(real_thinking_dir), options=CPU, runner=runner, workers=1)
    engine.load()
    request = CaptionRequest.for_paths([image], params=GenerationParams(max_new_tokens=12))
    ((free, ids),) = _caption_ids(engine, request, monkeypatch)
    assert free.truncated and len(ids) == 12
    at = next(j for j in range(2, len(ids)) if ids[j] not in ids[:j])
    _force_token(engine, ENDOFTEXT, ids[at])  # the model now writes <|endoftext|> there
    ((stopped, got),) = _caption_ids(engine, request, monkeypatch)
    engine.unload()
    assert got[:at] == ids[:at]
    assert got == ids[:at] and not stopped.truncated
