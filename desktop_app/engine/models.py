"""The Qwen3-VL models the app knows, and how a user's model argument resolves to one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    """A known model (a Hugging Face repo id) or a local checkpoint folder."""

    name: str  # what the user picks: "Qwen3-VL-2B-Instruct" or a folder path
    source: str  # repo id or absolute folder path
    params_b: float = 0.0  # billions of parameters, for memory estimates (0 = unknown)
    thinking: bool = False
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
    return specs


KNOWN_MODELS: dict[str, ModelSpec] = _known()
DEFAULT_MODEL = "Qwen3-VL-2B-Instruct"


def resolve_model(arg: str) -> ModelSpec:
    """Turn a user's model argument into a spec.

    Accepts a known short name ("Qwen3-VL-8B-Instruct", case-insensitive, "2B" alone for the
    Instruct variant), a Hugging Face repo id ("Qwen/Qwen3-VL-8B-Instruct" or any other
    repo), or a local folder holding a checkpoint.
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
    short = f"qwen3-vl-{key}-instruct"
    if short in lowered:
        return lowered[short]
    if "/" in arg:
        return ModelSpec(arg, arg, thinking="thinking" in arg.lower(), moe="-a3b" in arg.lower())
    choices = ", ".join(KNOWN_MODELS)
    raise ValueError(f"unknown model {arg!r}: give a folder, a Hugging Face repo id or one of {choices}")
