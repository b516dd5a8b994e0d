"""Throughput: the engine against the ways peers run Qwen3-VL, on the same images, in one run.

Methods (per-image output lengths drawn from a seeded 40-250 token distribution, EOS ignored):
- sequential: one `generate()` per image (what peer apps do); pixels prepared beforehand.
- batch4: `generate()` on static batches of 4 (the audit's proposal); pixels prepared beforehand.
- hf_static: `generate()` on static batches of the engine's slot count (on CUDA with
  `cache_implementation="static"`, the best transformers configuration measured).
- engine: `CaptionEngine` end to end: JPEG files decoded on its thread pool, captions
  written to .txt files atomically.
The baselines get pre-decoded pixels (not timed) and still lose: the ratios are conservative.

    PYTHONPATH=. python benchmarks/throughput.py --model tiny --images 64 --json out.json
    PYTHONPATH=. python benchmarks/throughput.py --model tiny-qwen3.5 --images 64   # hybrid family
    PYTHONPATH=. python benchmarks/throughput.py --random-weights 2B --images 512   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.engine import CaptionEngine, CaptionItem, CaptionRequest, GenerationParams  # noqa: E402
from desktop_app.engine.loading import LoadedModel, LoadOptions, load_model  # noqa: E402
from desktop_app.engine.models import ModelSpec, resolve_model  # noqa: E402
from desktop_app.engine.patches import use_linear_patch_embed  # noqa: E402
from desktop_app.engine.prompts import build_messages  # noqa: E402

PROMPT = "Describe this image in detail."
# True Qwen3-VL shapes (PERFORMANCE.md); weights random: speed depends on shapes only.
RANDOM_CONFIGS = {
    "2B": dict(text=(2048, 6144, 28, 16), vision=(24, 1024, 4096, 16), deepstack=[5, 11, 17], tied=True),
    "4B": dict(text=(2560, 9728, 36, 32), vision=(24, 1024, 4096, 16), deepstack=[5, 11, 17], tied=True),
    "8B": dict(text=(4096, 12288, 36, 32), vision=(27, 1152, 4304, 16), deepstack=[8, 16, 24], tied=False),
}


def make_images(folder: Path, count: int, size: tuple[int, int], seed: int) -> list[Path]:
    """JPEGs of smooth random colour fields with grain (decode cost like real photos)."""
    from PIL import Image

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        small = Image.new("RGB", (8, 6))
        small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(48)])
        image = small.resize(size, Image.BICUBIC)
        grain = Image.effect_noise(size, 12).convert("RGB")
        image = Image.blend(image, grain, 0.15)
        path = folder / f"img{i:05d}.jpg"
        image.save(path, quality=90)
        paths.append(path)
    return paths


def output_lengths(count: int, seed: int, low: int, high: int) -> list[int]:
    rng = random.Random(seed + 1)
    return [rng.randint(low, high) for _ in range(count)]


def random_weight_model(size: str, device: torch.device, tokenizer_dir: Path) -> LoadedModel:
    """A Qwen3-VL of the true size with random bf16 weights, built on the GPU, no download."""
    from transformers import AutoProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    processor = AutoProcessor.from_pretrained(tokenizer_dir)
    processor.tokenizer.padding_side = "left"
    tok = processor.tokenizer
    c = RANDOM_CONFIGS[size]
    hidden, inter, layers, heads = c["text"]
    depth, v_hidden, v_inter, v_heads = c["vision"]
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=hidden, intermediate_size=inter,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=8,
                         head_dim=128, max_position_embeddings=262144,
                         rope_parameters={"rope_type": "default", "rope_theta": 5e6,
                                          "mrope_section": [24, 20, 20], "mrope_interleaved": True}),
        vision_config=dict(depth=depth, hidden_size=v_hidden, intermediate_size=v_inter,
                           num_heads=v_heads, patch_size=16, spatial_merge_size=2,
                           temporal_patch_size=2, out_hidden_size=hidden,
                           num_position_embeddings=2304, deepstack_visual_indexes=c["deepstack"]),
        # The tiny tokenizer's ids stand in for the real ones: the model only needs them < vocab.
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=c["tied"],
    )
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.eval()
    use_linear_patch_embed(model)  # as load_model() does
    model.generation_config.eos_token_id = [tok.convert_tokens_to_ids("<|im_end|>")]
    model.generation_config.pad_token_id = tok.pad_token_id
    params = sum(p.numel() for p in model.parameters()) / 1e9
    spec = ModelSpec(f"random-{size} ({params:.3f}B params)", f"random-{size}", params, local=True)
    return LoadedModel(model, processor, spec, device, dtype, "sdpa", "none")


def prepare_baseline_inputs(loaded: LoadedModel, paths: list[Path]) -> list[dict[str, torch.Tensor]]:
    """Processor outputs per image (decoding not timed for the baselines)."""
    from PIL import Image

    text = loaded.processor.apply_chat_template(build_messages(PROMPT), tokenize=False,
                                                add_generation_prompt=True)
    out = []
    for path in paths:
        with Image.open(path) as im:
            image = im.convert("RGB")
        out.append(dict(loaded.processor(text=[text], images=[image], return_tensors="pt")))
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_generate_batches(loaded: LoadedModel, inputs: list[dict], lengths: list[int], batch: int,
                         cache_implementation: str | None = None, fixed_new_tokens: int | None = None) -> float:
    """Static batches through generate(); every row runs until the batch's longest caption.

    `fixed_new_tokens` gives every batch the same length (one shape: a static cache compiles once).
    """
    from desktop_app.engine.hf_runner import collate
    from desktop_app.engine.runner import PreparedInput

    pad = loaded.processor.tokenizer.pad_token_id
    prepared = [PreparedInput(i, x["input_ids"][0], x["mm_token_type_ids"][0], x["pixel_values"],
                              x["image_grid_thw"], lengths[i], (0,)) for i, x in enumerate(inputs)]
    batches = [prepared[i:i + batch] for i in range(0, len(prepared), batch)]
    gpu_batches = [collate(b, pad, loaded.device) for b in batches]  # pixels already on the GPU
    _sync(loaded.device)
    started = time.perf_counter()
    for group, model_inputs in zip(batches, gpu_batches):
        n = fixed_new_tokens or max(p.max_new_tokens for p in group)
        with torch.inference_mode():
            loaded.model.generate(**model_inputs, do_sample=False, max_new_tokens=n, min_new_tokens=n,
                                  pad_token_id=pad, cache_implementation=cache_implementation)
    _sync(loaded.device)
    return time.perf_counter() - started


def run_engine(loaded: LoadedModel, paths: list[Path], lengths: list[int], runner: str,
               slots: int, max_pixels: int, workers: int) -> tuple[float, dict[str, Any]]:
    """The engine end to end: files in, .txt captions out (atomic writes)."""
    from desktop_app.library.atomic import atomic_write_text

    engine = CaptionEngine.from_loaded(loaded, runner=runner, workers=workers)
    items = tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(paths, lengths))
    request = CaptionRequest(items, prompt=PROMPT, params=GenerationParams(ignore_eos=True),
                             max_pixels=max_pixels, batch_size=slots)
    warm = CaptionRequest(items[:min(len(items), slots)], prompt=PROMPT,
                          params=GenerationParams(ignore_eos=True, max_new_tokens=8),
                          max_pixels=max_pixels, batch_size=slots)
    for _ in engine.caption(warm):  # allocation, CUDA graph capture, kernel autotuning
        pass
    _sync(loaded.device)
    started = time.perf_counter()
    done = failed = 0
    for result in engine.caption(request):
        if hasattr(result, "caption"):
            atomic_write_text(result.path.with_suffix(".txt"), result.caption.strip() + "\n")
            done += 1
        else:
            failed += 1
    _sync(loaded.device)
    seconds = time.perf_counter() - started
    stats = getattr(engine.runner, "stats", None)
    return seconds, {"captioned": done, "failed": failed, "stats": vars(stats) if stats else {}}


def measure(name: str, images: int, tokens: int, fn: Callable[[], Any]) -> dict[str, Any]:
    print(f"running {name} on {images} images ...", flush=True)
    out = fn()
    seconds, extra = out if isinstance(out, tuple) else (out, {})
    row = {"method": name, "images": images, "seconds": round(seconds, 3),
           "images_per_s": round(images / seconds, 3), "tokens_per_s": round(tokens / seconds, 1), **extra}
    print(f"  {row['images_per_s']:.3f} images/s ({seconds:.2f} s)", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--model", default="tiny",
                     help="'tiny' or 'tiny-qwen3.5' (built locally) or a model name/folder")
    src.add_argument("--random-weights", choices=sorted(RANDOM_CONFIGS), help="true-size random model")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--sequential-images", type=int, default=None, help="run sequential on fewer")
    ap.add_argument("--batch4-images", type=int, default=None, help="run batch4 on fewer")
    ap.add_argument("--hf-static-images", type=int, default=None, help="run hf_static on fewer")
    ap.add_argument("--methods", default="sequential,batch4,hf_static,engine")
    ap.add_argument("--slots", type=int, default=None, help="engine slots / hf_static batch")
    ap.add_argument("--runner", default="auto", help="engine runner: auto, continuous, generate")
    ap.add_argument("--workers", type=int, default=None, help="image threads (default 8 on GPU, 1 on CPU)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads for every method (default 1 on CPU: steady timings on shared cores)")
    ap.add_argument("--image-size", default=None, help="WxH (default 768x1024 on GPU, 256x192 on CPU)")
    ap.add_argument("--min-tokens", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    from desktop_app.engine.loading import pick_device
    from desktop_app.testing.tiny_model import build_tiny_model

    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or 1)
    tmp = Path(tempfile.mkdtemp(prefix="caption-bench-"))
    tiny = build_tiny_model(tmp / "tiny")
    if args.random_weights:
        loaded = random_weight_model(args.random_weights, device, tiny)
    elif args.model == "tiny-qwen3.5":
        from desktop_app.testing.tiny_qwen35 import build_tiny_qwen35

        loaded = load_model(resolve_model(str(build_tiny_qwen35(tmp / "tiny-qwen3.5"))), LoadOptions(device=str(device)))
    else:
        spec = resolve_model(str(tiny) if args.model == "tiny" else args.model)
        loaded = load_model(spec, LoadOptions(device=str(device)))
    w, h = map(int, (args.image_size or ("768x1024" if device.type == "cuda" else "256x192")).split("x"))
    slots = args.slots or (64 if device.type == "cuda" else 16)
    # On a small CPU, image threads compete with the model's own threads for the same cores.
    workers = args.workers or (8 if device.type == "cuda" else 1)
    paths = make_images(tmp / "images", args.images, (w, h), args.seed)
    lengths = output_lengths(args.images, args.seed, args.min_tokens, args.max_tokens)
    methods = args.methods.split(",")
    print(f"{loaded.describe()}; {args.images} images {w}x{h}; lengths {args.min_tokens}-{args.max_tokens} "
          f"(mean {sum(lengths) / len(lengths):.0f}); slots {slots}", flush=True)
    inputs = prepare_baseline_inputs(loaded, paths) if set(methods) - {"engine"} else []
    results = []

    def subset(count: int | None) -> int:
        return min(args.images, count or args.images)

    static_cache = "static" if device.type == "cuda" else None
    plans = {
        "sequential": (subset(args.sequential_images), lambda n: run_generate_batches(loaded, inputs[:n], lengths[:n], 1)),
        "batch4": (subset(args.batch4_images), lambda n: run_generate_batches(loaded, inputs[:n], lengths[:n], 4)),
        "hf_static": (subset(args.hf_static_images), lambda n: _hf_static(loaded, inputs[:n], lengths[:n], slots, static_cache)),
        "engine": (args.images, lambda n: run_engine(loaded, paths[:n], lengths[:n], args.runner, slots, w * h, workers)),
    }
    for name in methods:
        n, fn = plans[name]
        results.append(measure(name, n, sum(lengths[:n]), lambda: fn(n)))
    report = summarise(results, loaded, args, device, (w, h), slots)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _hf_static(loaded: LoadedModel, inputs: list[dict], lengths: list[int], slots: int,
               cache_implementation: str | None) -> float:
    if not cache_implementation:
        return run_generate_batches(loaded, inputs, lengths, slots)
    # A static cache compiles per shape: give every batch the longest length (about what each
    # batch of many uniform draws has anyway) and compile it once, outside the timing.
    longest = max(lengths)
    run_generate_batches(loaded, inputs[:slots], lengths[:slots], slots, cache_implementation, longest)
    return run_generate_batches(loaded, inputs, lengths, slots, cache_implementation, longest)


def summarise(results: list[dict], loaded: LoadedModel, args: argparse.Namespace, device: torch.device,
              size: tuple[int, int], slots: int) -> dict[str, Any]:
    import transformers

    by = {r["method"]: r["images_per_s"] for r in results}
    report: dict[str, Any] = {
        "torch_threads": torch.get_num_threads(),
        "model": loaded.spec.name, "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu",
        "dtype": str(loaded.dtype), "torch": torch.__version__, "transformers": transformers.__version__,
        "images": args.images, "image_size": list(size), "slots": slots, "runner": args.runner,
        "lengths": [args.min_tokens, args.max_tokens], "results": results,
    }
    if "engine" in by:
        for base in ("sequential", "batch4", "hf_static"):
            if base in by:
                report[f"ratio_engine_vs_{base}"] = round(by["engine"] / by[base], 2)
    print(f"\n{'method':<12} {'images':>7} {'seconds':>9} {'images/s':>10} {'tokens/s':>10}")
    for r in results:
        print(f"{r['method']:<12} {r['images']:>7} {r['seconds']:>9.2f} {r['images_per_s']:>10.3f} {r['tokens_per_s']:>10.1f}")
    for key, value in report.items():
        if key.startswith("ratio_"):
            print(f"{key}: {value}x")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
