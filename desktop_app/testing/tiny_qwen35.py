"""Tiny random-weight Qwen3.5 checkpoints (the hybrid Gated-DeltaNet / attention family), offline.

Two builders, both writing a folder that `from_pretrained` and `AutoProcessor.from_pretrained`
load like a real Qwen3.5 checkpoint:

- `build_tiny_qwen35(out)`: everything made here. A byte-level BPE trained on
  `tiny_model.TRAINING_TEXT` with Qwen3.5's pre-tokenizer pattern, wrapped as
  `Qwen3_5Tokenizer`, then the 33 added tokens of the real Qwen3.5 tokenizer in their real
  order and with their real special flags (ids follow the trained vocabulary); a chat template
  in the shape of Qwen3.5's, with its thinking switch (off unless `enable_thinking=True`, as in
  0.8B/2B); 8 text layers (3 linear + 1 full attention, twice) and `moe=True` for the sparse
  MoE variant (`Qwen3_5MoeForConditionalGeneration`).
- `build_shared_qwen35(out, size)`: random weights around the REAL files of
  `shared/models/Qwen3.5-rebuilt/Qwen3.5-<size>/` (vocab.json, merges.txt, tokenizer_config,
  chat_template.jinja, processor configs copied byte for byte), with the config shrunk to 4
  text layers (3 linear + 1 full), hidden 64, vision depth 2 / hidden 64; head sizes, linear
  heads, rope and the 248,320-row vocabulary are kept; lm_head untied and re-drawn.

`python -m desktop_app.testing.tiny_qwen35 OUT_DIR [--shared 0.8B] [--moe]`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

from .tiny_model import TRAINING_TEXT, write_checkpoint

# The added tokens of the real Qwen3.5 tokenizer, in order (ids 248044.. there), with whether
# each is special: <tool_call>, the FIM tokens, <think> and </think> are plain added tokens.
ADDED_TOKENS = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True),
    ("<|box_end|>", True), ("<|quad_start|>", True), ("<|quad_end|>", True),
    ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True),
    ("<tool_call>", False), ("</tool_call>", False), ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False),
    ("</tool_response>", False), ("<think>", False), ("</think>", False),
    ("<|audio_start|>", True), ("<|audio_end|>", True), ("<tts_pad>", True),
    ("<tts_text_bos>", True), ("<tts_text_eod>", True), ("<tts_text_bos_single>", True),
    ("<|audio_pad|>", True),
]

# Qwen3.5's pre-tokenizer split pattern (combining marks stay with their letters).
QWEN35_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The shape of Qwen3.5's template: a system message, images/videos as
# <|vision_start|><|image_pad|><|vision_end|>, past assistant turns without their reasoning,
# and the generation prompt's thinking switch (default off, like 0.8B and 2B).
CHAT_TEMPLATE = (
    "{%- macro render(content) -%}"
    "{%- if content is string -%}{{ content }}"
    "{%- else -%}{%- for item in content -%}"
    "{%- if 'image' in item or item.type == 'image' -%}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif 'video' in item or item.type == 'video' -%}<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif 'text' in item -%}{{ item.text }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- for message in messages -%}"
    "{%- set content = render(message.content) | trim -%}"
    "{%- if message.role == 'assistant' and '</think>' in content -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{{ '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is true -%}{{ '<think>\\n' }}"
    "{%- else -%}{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif -%}"
    "{%- endif -%}"
)

LAYER_TYPES = ["linear_attention"] * 3 + ["full_attention"]
TEXT_CONFIG = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 8,
    "layer_types": LAYER_TYPES * 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "head_dim": 32, "linear_conv_kernel_dim": 4, "linear_num_key_heads": 2,
    "linear_key_head_dim": 16, "linear_num_value_heads": 4, "linear_value_head_dim": 16,
    "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "hidden_act": "silu",
    # partial_rotary_factor 0.25 of head_dim 32: 8 rotary dims, mrope_section sums to 4.
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25,
                        "mrope_section": [2, 1, 1], "mrope_interleaved": True},
}
MOE_CONFIG = {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
              "shared_expert_intermediate_size": 64}
VISION_CONFIG = {
    "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
    "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
    "out_hidden_size": 64, "num_position_embeddings": 64, "deepstack_visual_indexes": [],
    "hidden_act": "gelu_pytorch_tanh",
}
BPE_VOCAB = 1000  # bytes + merges; the added tokens follow
MODEL_VOCAB = 1088  # padded past the tokenizer, as real checkpoints are

# The shared real files (see shared/models/README.md).
ENV_VAR = "CAPTION_STUDIO_SHARED_MODELS"
SHARED_SIZES = ("0.8B", "2B", "4B")
COPIED = ("vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.jinja",
          "preprocessor_config.json", "video_preprocessor_config.json")
REQUIRED = ("config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.jinja",
            "preprocessor_config.json")
SHARED_TEXT_SHRINK = {"num_hidden_layers": 4, "layer_types": LAYER_TYPES, "hidden_size": 64,
                      "intermediate_size": 128, "tie_word_embeddings": False}
SHARED_VISION_SHRINK = {"depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
                        "out_hidden_size": 64}
SAVE_DTYPE = "bfloat16"  # on disk; tests load with an explicit dtype


# ------------------------------------------------------------------ the project's own files
def _train_tokenizer():
    """A byte-level BPE on TRAINING_TEXT as Qwen3_5Tokenizer, with Qwen3.5's added tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen3_5Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN35_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    bpe.train_from_iterator(TRAINING_TEXT.splitlines(), trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    tokenizer = Qwen3_5Tokenizer(vocab=state["vocab"], merges=merges, unk_token=None)  # as the real one
    # One at a time, in order: the ids follow the vocabulary in Qwen3.5's order.
    for content, special in ADDED_TOKENS:
        token = AddedToken(content, special=special, normalized=False)
        if special:
            tokenizer.add_special_tokens({"additional_special_tokens": [token]},
                                         replace_extra_special_tokens=False)
        else:
            tokenizer.add_tokens([token])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _build_processor(tokenizer):
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    common = {"patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    image_processor = Qwen2VLImageProcessor(size={"shortest_edge": 64 * 64, "longest_edge": 1024 * 1024}, **common)
    video_processor = Qwen3VLVideoProcessor(size={"shortest_edge": 64 * 64, "longest_edge": 256 * 256 * 8},
                                            fps=2, min_frames=2, max_frames=16, **common)
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                            video_processor=video_processor, chat_template=CHAT_TEMPLATE)


def _randomize(model, seed: int) -> None:
    """Wider random weights than the default init: varied, seed-stable text."""
    import torch

    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.2 if "embed" in name or "lm_head" in name else 0.08)


def _build_model(tokenizer, seed: int, moe: bool):
    import torch
    from transformers import GenerationConfig, Qwen3_5Config, Qwen3_5MoeConfig
    from transformers import Qwen3_5ForConditionalGeneration, Qwen3_5MoeForConditionalGeneration

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t, _ in ADDED_TOKENS}
    config_cls, model_cls = ((Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration) if moe
                             else (Qwen3_5Config, Qwen3_5ForConditionalGeneration))
    text = {**TEXT_CONFIG, **(MOE_CONFIG if moe else {}), "vocab_size": MODEL_VOCAB,
            "eos_token_id": ids["<|endoftext|>"]}
    config = config_cls(
        text_config=text, vision_config=VISION_CONFIG,
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False)  # a tied random model repeats one token forever
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    _randomize(model, seed)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"],
        do_sample=False, max_new_tokens=64)
    return model


def build_tiny_qwen35(out_dir: str | os.PathLike[str], seed: int = 0, moe: bool = False) -> Path:
    """Write the project-built tiny Qwen3.5 (or its MoE variant) to `out_dir`, atomically."""
    def fill(tmp: Path) -> None:
        tokenizer = _train_tokenizer()
        model = _build_model(tokenizer, seed, moe)
        model.save_pretrained(tmp, safe_serialization=True)
        _build_processor(tokenizer).save_pretrained(tmp)

    return write_checkpoint(out_dir, fill)


# -------------------------------------------------------------------- the shared real files
def shared_models_dir() -> Path:
    """$CAPTION_STUDIO_SHARED_MODELS, else `../shared/models` from the repository root."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2].parent / "shared" / "models"


def shared_source_dir(size: str = "0.8B", root: Path | None = None) -> Path:
    if size not in SHARED_SIZES:
        raise ValueError(f"unknown Qwen3.5 size {size!r}: use one of {', '.join(SHARED_SIZES)}")
    return (root or shared_models_dir()) / "Qwen3.5-rebuilt" / f"Qwen3.5-{size}"


def missing_reason(size: str = "0.8B", root: Path | None = None) -> str | None:
    """Why the real Qwen3.5 files of `size` cannot be used, or None."""
    src = shared_source_dir(size, root)
    if not src.is_dir():
        return (f"the real Qwen3.5 checkpoint files are not here: {src} is missing "
                f"(set {ENV_VAR} to the folder holding Qwen3.5-rebuilt/)")
    absent = [name for name in REQUIRED if not (src / name).is_file()]
    return f"{src} lacks {', '.join(absent)}" if absent else None


def files_digest(src: Path) -> str:
    """A digest of the files a shared build reads (names and contents)."""
    h = hashlib.sha1()
    for name in ("config.json", *COPIED):
        path = src / name
        if path.is_file():
            h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def shrunk_config(original: dict) -> dict:
    """The upstream config.json with the depth and widths shrunk (everything else kept)."""
    config = copy.deepcopy(original)
    config["text_config"].update(copy.deepcopy(SHARED_TEXT_SHRINK))
    config["vision_config"].update(SHARED_VISION_SHRINK)
    config["tie_word_embeddings"] = False
    return config


def build_shared_qwen35(out_dir: str | os.PathLike[str], size: str = "0.8B", seed: int = 0,
                        root: Path | None = None) -> Path:
    """Write random weights around the real Qwen3.5-`size` files to `out_dir`, atomically."""
    reason = missing_reason(size, root)
    if reason:
        raise FileNotFoundError(reason)
    src = shared_source_dir(size, root)

    def fill(tmp: Path) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForImageTextToText

        config = shrunk_config(json.loads((src / "config.json").read_text(encoding="utf-8")))
        config_text = json.dumps(config, indent=2) + "\n"
        (tmp / "config.json").write_text(config_text, encoding="utf-8")
        model = AutoModelForImageTextToText.from_config(AutoConfig.from_pretrained(tmp)).eval()
        _randomize(model, seed)
        model.to(getattr(torch, SAVE_DTYPE)).save_pretrained(tmp, safe_serialization=True)
        # save_pretrained rewrote config.json and wrote a generation config the source lacks.
        (tmp / "config.json").write_text(config_text, encoding="utf-8")
        (tmp / "generation_config.json").unlink(missing_ok=True)
        for name in COPIED:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)

    return write_checkpoint(out_dir, fill)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the checkpoint to")
    parser.add_argument("--shared", choices=SHARED_SIZES, help="around the real files of this size")
    parser.add_argument("--moe", action="store_true", help="the sparse MoE variant (project-built only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.shared:
        path = build_shared_qwen35(args.out_dir, args.shared, seed=args.seed)
    else:
        path = build_tiny_qwen35(args.out_dir, seed=args.seed, moe=args.moe)
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"wrote a tiny Qwen3.5 to {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
