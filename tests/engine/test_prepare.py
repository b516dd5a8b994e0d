"""InputBuilder builds exactly what the Qwen3-VL processor builds for one image."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

from desktop_app.engine.images import load_image
from desktop_app.engine.prepare import InputBuilder
from desktop_app.engine.prompts import build_messages, render_prompt

MAX_PIXELS = 512 * 512


@pytest.fixture(scope="module")
def processor(tiny_model_dir: Path):
    return AutoProcessor.from_pretrained(tiny_model_dir, local_files_only=True)


def reference(processor, path: Path, prompt: str, system: str | None) -> dict[str, torch.Tensor]:
    """What the processor gives for the whole chat text and the decoded image."""
    messages = build_messages(render_prompt(prompt, path), system)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    image = load_image(path, MAX_PIXELS)
    return processor(text=[text], images=[image], return_tensors="pt")


@pytest.mark.parametrize("size", [(32, 32), (64, 48), (300, 180), (181, 97), (900, 700)])
@pytest.mark.parametrize("prompt, system", [
    ("Describe this image in detail.", None),
    ("Caption {filename} (a {ext} file in {folder}); keep {unknown} and {{x}} as they are.",
     "You are a careful captioner. Answer in one sentence."),
])
def test_builder_matches_the_processor(processor, tmp_path, size, prompt, system):
    path = tmp_path / f"photo_{size[0]}x{size[1]}.png"
    w, h = size
    Image.frombytes("RGB", size, random.Random(w * h).randbytes(w * h * 3)).save(path)
    builder = InputBuilder(processor, prompt, system, MAX_PIXELS)

    inp = builder.build(3, path, builder.pixels(path), max_new_tokens=17, seeds=(1, 2))
    want = reference(processor, path, prompt, system)

    assert torch.equal(inp.input_ids, want["input_ids"][0])
    assert torch.equal(inp.mm_token_type_ids.long(), want["mm_token_type_ids"][0].long())
    assert torch.equal(inp.pixel_values, want["pixel_values"])
    assert torch.equal(inp.image_grid_thw, want["image_grid_thw"])
    assert (inp.key, inp.max_new_tokens, inp.seeds) == (3, 17, (1, 2))
    assert inp.visual_tokens == int(want["image_grid_thw"].prod()) // 4


def test_prompt_variables_reach_the_ids(processor, tmp_path):
    path = tmp_path / "cat_on_table.png"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(path)
    builder = InputBuilder(processor, "Caption {filename}.", None, MAX_PIXELS)
    pixels = builder.pixels(path)
    default = builder.build(0, path, pixels, 8, (0,))
    own = builder.build(1, path, pixels, 8, (0,), prompt="Tags for {stem}.")
    decoded = processor.tokenizer.decode(default.input_ids)
    assert "Caption cat_on_table.png." in decoded
    assert "Tags for cat_on_table." in processor.tokenizer.decode(own.input_ids)
    assert not torch.equal(default.input_ids, own.input_ids)
