"""Several images in one chat turn (multi-image comparison): ids, runners, engine."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

from desktop_app.engine import CaptionEngine, CaptionRequest, GenerationParams
from desktop_app.engine.continuous import ContinuousRunner
from desktop_app.engine.events import ImageCaptioned, ImageFailed
from desktop_app.engine.hf_runner import GenerateRunner
from desktop_app.engine.images import ImageLoadError, load_image
from desktop_app.engine.loading import LoadOptions
from desktop_app.engine.prepare import InputBuilder
from desktop_app.engine.prompts import build_messages
from desktop_app.engine.runner import DecodeSettings, RowDone
from desktop_app.engine.types import CaptionItem

MAX_PIXELS = 512 * 512


@pytest.fixture(scope="module")
def processor(tiny_model_dir: Path):
    return AutoProcessor.from_pretrained(tiny_model_dir, local_files_only=True)


def noise(path: Path, size: tuple[int, int]) -> Path:
    w, h = size
    Image.frombytes("RGB", size, random.Random(w * 31 + h).randbytes(w * h * 3)).save(path)
    return path


@pytest.mark.parametrize("sizes", [[(64, 48), (300, 180)], [(32, 32), (181, 97), (128, 256)]])
@pytest.mark.parametrize("system", [None, "Compare carefully."])
def test_multi_image_ids_equal_the_processor(processor, tmp_path, sizes, system):
    paths = [noise(tmp_path / f"img{i}.png", s) for i, s in enumerate(sizes)]
    prompt = "What differs between these images?"
    builder = InputBuilder(processor, prompt, system, MAX_PIXELS)
    inp = builder.build_many(5, paths, builder.pixels_many(paths), max_new_tokens=9, seeds=(3,))

    messages = build_messages(prompt, system, count=len(paths))
    images = [load_image(p, MAX_PIXELS) for p in paths]
    for part, image in zip(messages[-1]["content"], images):
        part["image"] = image
    want = processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                         return_dict=True, return_tensors="pt")
    assert torch.equal(inp.input_ids, want["input_ids"][0])
    assert torch.equal(inp.mm_token_type_ids.long(), want["mm_token_type_ids"][0].long())
    assert torch.equal(inp.pixel_values, want["pixel_values"])
    assert torch.equal(inp.image_grid_thw, want["image_grid_thw"])
    assert inp.image_grid_thw.shape[0] == len(paths)
    tokens = processor.tokenizer.convert_ids_to_tokens(inp.input_ids.tolist())
    assert tokens.count("<|vision_start|>") == len(paths) == tokens.count("<|vision_end|>")


def test_a_bad_image_fails_the_group_naming_the_file(processor, tmp_path):
    good = noise(tmp_path / "good.png", (32, 32))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    builder = InputBuilder(processor, "Compare.", None, MAX_PIXELS)
    failed = builder.with_extra_images(good, builder.pixels(good), (bad,))
    assert isinstance(failed, ImageLoadError) and failed.path == good
    assert "broken.png" in failed.reason
    with pytest.raises(ImageLoadError, match="broken.png"):
        builder.pixels_many([good, bad])


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from transformers import Qwen3VLForConditionalGeneration

    return Qwen3VLForConditionalGeneration.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()


def test_runners_agree_on_multi_image_inputs(model, processor, tmp_path):
    builder = InputBuilder(processor, "Describe the differences.", None, MAX_PIXELS)
    groups = [[(48, 48), (96, 64)], [(32, 96), (64, 64), (80, 40)], [(128, 128)]]
    inputs = []
    for key, sizes in enumerate(groups):
        paths = [noise(tmp_path / f"g{key}_{i}.png", s) for i, s in enumerate(sizes)]
        inputs.append(builder.build_many(key, paths, builder.pixels_many(paths), 12, (0,)))
    settings = DecodeSettings(stop_ids=frozenset(), ignore_eos=True)

    def run(runner):
        out = runner.run(list(inputs), settings, threading.Event(), lambda rows: None)
        return {r.key: r.token_ids for r in out if isinstance(r, RowDone)}

    continuous = run(ContinuousRunner(model, slots=4))
    generate = run(GenerateRunner(model, batch_size=3, pad_token_id=0))
    alone = {k: v for inp in inputs for k, v in run(GenerateRunner(model, batch_size=1)).items()}
    assert continuous == generate == alone
    assert sorted(continuous) == [0, 1, 2] and all(len(v) == 12 for v in continuous.values())


@pytest.mark.parametrize("runner", ["continuous", "generate"])
def test_engine_compares_several_images(tiny_model_dir, tmp_path, runner):
    paths = [noise(tmp_path / f"p{i}.png", (64 + 16 * i, 64)) for i in range(3)]
    engine = CaptionEngine(str(tiny_model_dir), LoadOptions(device="cpu", dtype="fp32"),
                           runner=runner, workers=2)
    item = CaptionItem(paths[0], extra_paths=tuple(paths[1:]))
    broken = tmp_path / "zz.png"
    broken.write_bytes(b"junk")
    bad_item = CaptionItem(paths[0], extra_paths=(broken,))
    request = CaptionRequest(items=(item, bad_item), prompt="Compare these images.",
                             params=GenerationParams(max_new_tokens=6, ignore_eos=True))
    results = list(engine.caption(request))
    done = [r for r in results if isinstance(r, ImageCaptioned)]
    failed = [r for r in results if isinstance(r, ImageFailed)]
    assert len(done) == 1 and done[0].path == paths[0]
    assert len(failed) == 1 and "zz.png" in failed[0].reason
