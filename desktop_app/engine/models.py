"""The models the app knows (Qwen3-VL, Qwen3.5, Qwen3.6), and how a user's model argument
resolves to one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    """A known model (a Hugging Face repo id) or a local checkpoint folder."""

    name: str  # what the user picks: "Qwen3-VL-2B-Instruct" or a folder path
    source: str  # repo id or absolute folder path
    params_b: float = 0.0  # billions of parameters, for memory estimates (0 = unknown)
    thinking: bool = False  # reasons (writes <think>...</think>) unless told otherwise
    moe: bool = False
    local: bool = False

    @property
    def bf16_gb(self) -> float:
        """Approximate size of the weights in bf16, in GB."""
        return self.params_b * 2.0


def _known() -> dict[str, ModelSpec]:
    sizes = {"2B": 2.13, "4B": 4.44, "8B": 8.77, "32B": 33.4}
    specs: dict[str, ModelSpec] = {}
    for size, params in sizes.items():
        for kind in ("Instruct", "Thinking"):
            name = f"Qwen3-VL-{size}-{kind}"
            specs[name] = ModelSpec(name, f"Qwen/{name}", params, thinking=kind == "Thinking")
    for kind in ("Instruct", "Thinking"):
        name = f"Qwen3-VL-30B-A3B-{kind}"
        specs[name] = ModelSpec(name, f"Qwen/{name}", 31.1, thinking=kind == "Thinking", moe=True)
    for name, params, thinking in QWEN35:
        specs[name] = ModelSpec(name, f"Qwen/{name}", params, thinking=thinking, moe=_is_moe(name))
    return specs


# Qwen3.5 / Qwen3.6: one checkpoint per size, vision included, with a thinking switch in the
# chat template; off by default for 0.8B and 2B, on for 4B and larger. Parameters: counted
# from the configs of 0.8B, 2B, 4B and 35B-A3B (shared/models); the others from their names.
QWEN35 = (
    ("Qwen3.5-0.8B", 0.853, False), ("Qwen3.5-2B", 2.21, False), ("Qwen3.5-4B", 4.54, True),
    ("Qwen3.5-9B", 9.0, True), ("Qwen3.5-27B", 27.0, True), ("Qwen3.5-35B-A3B", 35.1, True),
    ("Qwen3.5-122B-A10B", 122.0, True), ("Qwen3.6-27B", 27.0, True), ("Qwen3.6-35B-A3B", 35.1, True),
)


def _is_moe(name: str) -> bool:
    """A mixture-of-experts name: "-A3B", "-A10B" (active parameters)."""
    return re.search(r"-a\d+b(?![a-z0-9])", name.lower()) is not None


KNOWN_MODELS: dict[str, ModelSpec] = _known()
DEFAULT_MODEL = "Qwen3-VL-2B-Instruct"


def resolve_model(arg: str) -> ModelSpec:
    """Turn a user's model argument into a spec.

    Accepts a known name ("Qwen3-VL-8B-Instruct", "Qwen3.5-4B", case-insensitive), a short
    one ("2B" alone for the Qwen3-VL Instruct variant, "3.5-4B" or "3.6-27B" for Qwen3.5/3.6),
    a Hugging Face repo id ("Qwen/Qwen3-VL-8B-Instruct" or any other repo), or a local folder
    holding a checkpoint.
    """
    path = Path(arg).expanduser()
    if path.is_dir():
        thinking = "thinking" in path.name.lower()
        return ModelSpec(str(path), str(path.resolve()), thinking=thinking, local=True)
    if arg.startswith((".", "/", "~")) or "\\" in arg:
        raise ValueError(f"model folder not found: {arg}")
    lowered = {k.lower(): v for k, v in KNOWN_MODELS.items()}
    key = arg.lower().removeprefix("qwen/")
    if key in lowered:
        return lowered[key]
    for short in (f"qwen3-vl-{key}-instruct", f"qwen{key}"):
        if short in lowered:
            return lowered[short]
    if "/" in arg:
        return ModelSpec(arg, arg, thinking="thinking" in arg.lower(), moe=_is_moe(arg))
    choices = ", ".join(KNOWN_MODELS)
    raise ValueError(f"unknown model {arg!r}: give a folder, a Hugging Face repo id or one of {choices}")
