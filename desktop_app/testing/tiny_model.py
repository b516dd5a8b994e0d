"""Build a tiny random-weight Qwen3-VL checkpoint folder, offline and deterministic.

`python -m desktop_app.testing.tiny_model OUT_DIR` writes config, generation config,
safetensors weights, a byte-level BPE tokenizer, the image/video processors and a ChatML
chat template: a folder that `from_pretrained` and `AutoProcessor.from_pretrained` load
exactly like a real Qwen3-VL checkpoint. The tests and the smoke test use it; users never do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

# Qwen's added tokens, in Qwen's order (their ids follow the trained vocabulary).
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
]
# As in the real Qwen3-VL tokenizer, only the first 14 (through <|video_pad|>) are special;
# <tool_call>, the FIM tokens, <think> and </think> are plain added tokens, which decoding
# with skip_special_tokens keeps (the engine finds the end of the reasoning by that text).
N_SPECIAL = 14

# Qwen2's pre-tokenizer split pattern.
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# A ChatML template in the shape of Qwen3-VL's: images and videos become
# <|vision_start|><|image_pad|><|vision_end|>, which the processor expands per image.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' or 'image' in item -%}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif item['type'] == 'video' or 'video' in item -%}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif 'text' in item -%}{{ item['text'] }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "<|im_end|>{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>{{ 'assistant\\n' }}{%- endif -%}"
)

# The text the tokenizer is trained on lives here, so the result never depends on anything
# outside this file (Python version, installed corpora).
TRAINING_TEXT = """
Describe this image in detail. A photo of a cat sitting on a wooden table next to a window.
The image shows a mountain landscape at sunset with orange and purple clouds over a lake.
Write a short caption. Write a list of tags, separated by commas. Alt text for a web page.
A woman in a red dress walks along a city street at night, neon signs reflecting in puddles.
Close-up of a green leaf with water droplets; shallow depth of field, soft natural light.
Read all the text in the image. The chart shows sales by month from January to December.
A black and white portrait of an old man with a beard, looking at the camera, studio light.
Two dogs play in the snow in a park; trees and a bench in the background, overcast sky.
a bowl of fruit: apples, oranges, bananas and grapes on a kitchen counter, 1girl, solo, outdoors
The quick brown fox jumps over the lazy dog. 0123456789 !?.,;:'"()[]{}<>-_+=*/&%$#@
Video of waves breaking on a sandy beach; a person surfs in the distance; seconds, frames.
""" * 4

TEXT_CONFIG = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "hidden_act": "silu",
    "rope_parameters": {"rope_type": "default", "rope_theta": 5000000.0,
                        "mrope_section": [4, 2, 2], "mrope_interleaved": True},
}
VISION_CONFIG = {
    "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
    "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
    "out_hidden_size": 64, "num_position_embeddings": 64, "deepstack_visual_indexes": [0, 1],
    "hidden_act": "gelu_pytorch_tanh",
}
BPE_VOCAB = 1000  # bytes + merges; the special tokens follow
MODEL_VOCAB = 1088  # padded past the tokenizer, as real checkpoints are


def _train_tokenizer():
    """Train a byte-level BPE on TRAINING_TEXT and wrap it as Qwen2Tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[],
    )
    bpe.train_from_iterator(TRAINING_TEXT.splitlines(), trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=state["vocab"], merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[:N_SPECIAL]})
    tokenizer.add_tokens(SPECIAL_TOKENS[N_SPECIAL:])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _build_processor(tokenizer):
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    common = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": 64 * 64, "longest_edge": 1024 * 1024}, **common)
    video_processor = Qwen3VLVideoProcessor(
        size={"shortest_edge": 64 * 64, "longest_edge": 256 * 256 * 8}, fps=2,
        min_frames=2, max_frames=16, **common)
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                            video_processor=video_processor, chat_template=CHAT_TEMPLATE)


def _build_model(tokenizer, seed: int):
    import torch
    from transformers import GenerationConfig, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen3VLConfig(
        text_config={**TEXT_CONFIG, "vocab_size": MODEL_VOCAB},
        vision_config=VISION_CONFIG,
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        # A tied random model repeats one token forever; untied gives varied output.
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    with torch.no_grad():
        # Default init gives near-uniform logits; wider weights give varied, seed-stable text.
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.2 if "embed" in name or "lm_head" in name else 0.08)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"], bos_token_id=ids["<|endoftext|>"],
        do_sample=False, max_new_tokens=64,
    )
    return model


def write_checkpoint(out_dir: str | os.PathLike[str], fill: Callable[[Path], None]) -> Path:
    """Call fill(tmp) on a temp folder beside `out_dir`, then rename it into place (a reader
    never sees half a checkpoint; a failed build leaves nothing behind). Every test fixture
    builder writes through this."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def build_tiny_model(out_dir: str | os.PathLike[str], seed: int = 0) -> Path:
    """Write the tiny checkpoint to `out_dir` (atomically: a temp folder renamed at the end)."""
    def fill(tmp: Path) -> None:
        tokenizer = _train_tokenizer()
        _build_model(tokenizer, seed).save_pretrained(tmp, safe_serialization=True)
        _build_processor(tokenizer).save_pretrained(tmp)

    return write_checkpoint(out_dir, fill)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = build_tiny_model(args.out_dir, seed=args.seed)
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"wrote a tiny Qwen3-VL to {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
