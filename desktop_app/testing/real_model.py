"""Build a small random-weight Qwen3-VL around the REAL checkpoint files (tokenizer, template).

`shared/models/` (beside the repository, see its README) holds the non-weight files of the
public Qwen3-VL-2B-Instruct and -Thinking checkpoints: vocab.json + merges.txt (no
tokenizer.json: transformers builds the fast tokenizer from them), tokenizer_config.json
with the chat template, chat_template.json, the image and video processor configs, the model
config and (Instruct only) generation_config.json. This module copies every one of those
files unchanged and adds only a shrunken config.json and random safetensors weights, so a
test loads the folder through the real `from_pretrained` / `AutoProcessor.from_pretrained`
and meets the real 151,669-token vocabulary, the real special and added tokens (`<think>`
and `</think>` are added tokens but NOT special: decoding keeps them), the real stop ids and
the real Thinking template (its generation prompt ends with `<think>\\n`).

The shrink keeps the architecture and the vocabulary (151,936 rows): 2 text layers, hidden
64, head_dim 16, mrope_section [2, 3, 3]; vision depth 2, hidden 64, deepstack [0, 1]. The
lm_head is untied and re-drawn so that sampled text varies. config.json keeps the upstream
4.x spelling (`rope_scaling`, `rope_theta` in `text_config`), which transformers 5 converts
when it loads, as it does for the real checkpoint.

`python -m desktop_app.testing.real_model OUT_DIR [--kind thinking]` writes one folder.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

from .tiny_model import write_checkpoint

#: Environment variable naming the folder that holds the Qwen3-VL-2B-* folders.
ENV_VAR = "CAPTION_STUDIO_SHARED_MODELS"
KINDS = {"instruct": "Qwen3-VL-2B-Instruct", "thinking": "Qwen3-VL-2B-Thinking"}
# Copied byte for byte when present (the Thinking set has no generation_config.json).
COPIED = ("vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json",
          "preprocessor_config.json", "video_preprocessor_config.json", "generation_config.json")
REQUIRED = ("config.json", "vocab.json", "merges.txt", "tokenizer_config.json",
            "preprocessor_config.json")

TEXT_SHRINK = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
               "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
               "tie_word_embeddings": False}
MROPE_SECTION = [2, 3, 3]  # must sum to head_dim / 2
VISION_SHRINK = {"depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4,
                 "out_hidden_size": 64, "deepstack_visual_indexes": [0, 1]}
# float32 or bfloat16 on disk; tests load with an explicit dtype, so this only sets the size.
SAVE_DTYPE = "bfloat16"


def shared_models_dir() -> Path:
    """Where the real checkpoint files are: $CAPTION_STUDIO_SHARED_MODELS, else
    `../shared/models` from the repository root (CI lays shared/ beside the clone)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2].parent / "shared" / "models"


def source_dir(kind: str, root: Path | None = None) -> Path:
    """The folder of one kind ("instruct" or "thinking")."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    return (root or shared_models_dir()) / KINDS[kind]


def missing_reason(kind: str, root: Path | None = None) -> str | None:
    """Why the real files of `kind` cannot be used (a missing folder or file), or None."""
    src = source_dir(kind, root)
    if not src.is_dir():
        return (f"the real Qwen3-VL checkpoint files are not here: {src} is missing "
                f"(set {ENV_VAR} to the folder holding {KINDS[kind]}/)")
    absent = [name for name in REQUIRED if not (src / name).is_file()]
    if absent:
        return f"{src} lacks {', '.join(absent)}"
    return None


def files_digest(src: Path) -> str:
    """A digest of the files a build reads (names and contents)."""
    h = hashlib.sha1()
    for name in ("config.json", *COPIED):
        path = src / name
        if path.is_file():
            h.update(name.encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def shrunk_config(original: dict) -> dict:
    """The upstream config.json with the sizes shrunk (its own spelling otherwise kept)."""
    config = copy.deepcopy(original)
    text, vision = config["text_config"], config["vision_config"]
    text.update(TEXT_SHRINK)
    # The 4.x spelling of the upstream file, or the 5.x one should a later copy use it.
    rope = text.get("rope_scaling") or text.get("rope_parameters")
    if rope is None:
        raise ValueError("the config has neither rope_scaling nor rope_parameters")
    rope["mrope_section"] = list(MROPE_SECTION)
    vision.update(VISION_SHRINK)
    config["tie_word_embeddings"] = False
    return config


def _build_model(config_dir: Path, seed: int):
    import torch
    from transformers import AutoConfig, Qwen3VLForConditionalGeneration

    config = AutoConfig.from_pretrained(config_dir, local_files_only=True)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    with torch.no_grad():
        # Default init gives near-uniform logits; wider weights give varied, seed-stable text.
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.2 if "embed" in name or "lm_head" in name else 0.08)
    return model.to(getattr(torch, SAVE_DTYPE))


def build_real_model(out_dir: str | os.PathLike[str], kind: str = "instruct", seed: int = 0,
                     root: Path | None = None) -> Path:
    """Write a random-weight copy of the real `kind` checkpoint to `out_dir` (atomically)."""
    reason = missing_reason(kind, root)
    if reason:
        raise FileNotFoundError(reason)
    src = source_dir(kind, root)

    def fill(tmp: Path) -> None:
        config = shrunk_config(json.loads((src / "config.json").read_text(encoding="utf-8")))
        config_text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        (tmp / "config.json").write_text(config_text, encoding="utf-8")
        model = _build_model(tmp, seed)
        model.save_pretrained(tmp, safe_serialization=True)
        # save_pretrained rewrote config.json in its own spelling and may have written a
        # generation config the source does not have: put back exactly what the source says.
        (tmp / "config.json").write_text(config_text, encoding="utf-8")
        (tmp / "generation_config.json").unlink(missing_ok=True)
        for name in COPIED:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)

    return write_checkpoint(out_dir, fill)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the checkpoint to")
    parser.add_argument("--kind", choices=sorted(KINDS), default="instruct")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = build_real_model(args.out_dir, args.kind, seed=args.seed)
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"wrote a random-weight {KINDS[args.kind]} to {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
