"""Loading a Qwen3-VL checkpoint: device, dtype, attention, quantization, clear errors."""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass, replace
from typing import Any

import torch

from .models import ModelSpec
from .patches import use_linear_patch_embed

log = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "8bit", "4bit")
ATTENTIONS = ("auto", "sdpa", "flash_attention_2", "eager")
DTYPES = {"auto": None, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16, "fp32": torch.float32,
          "float32": torch.float32}


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class LoadOptions:
    """How to load: each field accepts "auto" where it makes sense."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    dtype: str = "auto"  # auto | bf16 | fp16 | fp32
    quantization: str = "none"  # none | 8bit | 4bit (bitsandbytes, CUDA only)
    attention: str = "auto"  # auto | sdpa | flash_attention_2 | eager
    compile: bool = False  # torch.compile the decode step (CUDA)
    offline: bool = False  # never touch the network


@dataclass
class LoadedModel:
    """A model, its processor and what was chosen for them."""

    model: Any
    processor: Any
    spec: ModelSpec
    device: torch.device
    dtype: torch.dtype
    attention: str
    quantization: str
    # Which runner captions with it ("continuous" or "generate") and why, once the engine
    # has chosen (after its load-time self-check); empty before.
    runner: str = ""
    runner_reason: str = ""

    def describe(self) -> str:
        text = (f"{self.spec.name} on {self.device} ({str(self.dtype).removeprefix('torch.')}, "
                f"{self.attention}, quantization {self.quantization})")
        if self.runner == "continuous":
            text += ", continuous batching"
        elif self.runner:
            text += f", generate() runner ({self.runner_reason})" if self.runner_reason else ", generate() runner"
        return text


def pick_device(choice: str) -> torch.device:
    """The device for "auto" (CUDA, then Apple MPS, then CPU) or the one asked for."""
    if choice != "auto":
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError(f"device {choice!r} asked for, but CUDA is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(choice: str, device: torch.device) -> torch.dtype:
    """bf16 on CUDA (fp16 where bf16 is unsupported), fp16 on MPS, fp32 on CPU."""
    if choice not in DTYPES:
        raise ModelLoadError(f"unknown dtype {choice!r}: use one of {', '.join(DTYPES)}")
    if DTYPES[choice] is not None:
        return DTYPES[choice]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device.type == "mps" else torch.float32


def pick_attention(choice: str, device: torch.device, dtype: torch.dtype) -> str:
    """flash_attention_2 when installed and usable (CUDA, half precision), else sdpa."""
    if choice not in ATTENTIONS:
        raise ModelLoadError(f"unknown attention {choice!r}: use one of {', '.join(ATTENTIONS)}")
    if choice != "auto":
        return choice
    usable = (device.type == "cuda" and dtype in (torch.bfloat16, torch.float16)
              and importlib.util.find_spec("flash_attn") is not None)
    return "flash_attention_2" if usable else "sdpa"


def quantization_config(choice: str, device: torch.device, dtype: torch.dtype) -> Any:
    """A BitsAndBytesConfig for 8bit/4bit, None for none; clear errors where unsupported."""
    if choice not in QUANTIZATIONS:
        raise ModelLoadError(f"unknown quantization {choice!r}: use one of {', '.join(QUANTIZATIONS)}")
    if choice == "none":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelLoadError(f"{choice} quantization needs bitsandbytes: pip install 'caption-studio[quant]'")
    if device.type not in ("cuda", "cpu"):
        raise ModelLoadError(f"{choice} quantization needs a CUDA GPU (bitsandbytes), not {device.type}")
    from transformers import BitsAndBytesConfig

    if choice == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = dtype if dtype != torch.float32 or device.type == "cpu" else torch.bfloat16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True)


def explain_load_error(spec: ModelSpec, exc: BaseException) -> str:
    """A message a person understands for a failed load."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in lowered:
        return (f"not enough memory to load {spec.name}: choose a smaller model, 4-bit "
                "quantization, or close other programs using the GPU")
    offline_signs = ("offline", "connection", "resolve", "network", "couldn't connect",
                     "max retries", "name or service not known", "we couldn't connect")
    if not spec.local and any(s in lowered for s in offline_signs):
        return (f"cannot download {spec.source}: no network connection (or the Hugging Face hub is "
                "unreachable) and it is not in the local cache. Download it on a connected "
                "machine, or pass a local checkpoint folder with --model PATH")
    if "does not appear to have" in lowered or "not a valid model identifier" in lowered \
            or "repository not found" in lowered or "404" in lowered:
        return f"{spec.source} is not a Qwen3-VL checkpoint folder or repository ({text})"
    return f"could not load {spec.name}: {text}"


def _offline_env() -> bool:
    """Whether the environment asks for offline mode (as huggingface_hub reads it)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _unreachable_hub() -> str | None:
    """None when the hub answers; else why not, in words (then the load uses the cache only).

    One quick connection attempt instead of huggingface_hub's retries of each file, which
    take minutes with no network before they give up.
    """
    from . import hub

    host, port = hub.hub_address()
    if hub.hub_reachable((host, port)):
        return None
    reason = f"cannot reach {host}:{port} within {hub.PROBE_TIMEOUT_S:g} s"
    log.warning("No network (%s): loading from the local Hugging Face cache only", reason)
    return reason


def load_model(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    """Load model and processor (safetensors only, no remote code) and put the model in eval mode."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    attention = pick_attention(options.attention, device, dtype)
    quant = quantization_config(options.quantization, device, dtype)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    offline = options.offline or _offline_env()
    unreachable = None if offline or spec.local else _unreachable_hub()
    offline = offline or unreachable is not None
    common: dict[str, Any] = {"trust_remote_code": False, "local_files_only": offline}
    # use_kernels=False: from 5.25 on, from_pretrained defaults to kernelizing layers with
    # kernels fetched from the Hub (and refuses to load without the `kernels` package); the
    # app runs offline and its decode loop calls the layers' own modules. 5.17-5.24 default
    # to False already and accept the argument.
    kwargs: dict[str, Any] = {"dtype": dtype, "attn_implementation": attention,
                              "use_safetensors": True, "use_kernels": False, **common}
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": str(device)})
    log.info("loading %s on %s (%s, %s, %s)", spec.source, device, dtype, attention, options.quantization)
    try:
        processor = AutoProcessor.from_pretrained(spec.source, **common)
        model = AutoModelForImageTextToText.from_pretrained(spec.source, **kwargs)
        if quant is None:
            model.to(device)
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        message = explain_load_error(spec, exc)
        if unreachable is not None and message.startswith("cannot download"):
            message = (f"no network: {unreachable}, and {spec.source} is not in the local cache. "
                       "Download it on a connected machine, or pass a local checkpoint folder "
                       "with --model PATH")
        raise ModelLoadError(message) from exc
    model.eval()
    use_linear_patch_embed(model)
    processor.tokenizer.padding_side = "left"
    if not spec.thinking and template_opens_thinking(processor):
        # A Thinking checkpoint in a folder whose name does not say so: its template decides.
        spec = replace(spec, thinking=True)
    return LoadedModel(model, processor, spec, device, dtype, attention, options.quantization)


def template_opens_thinking(processor: Any) -> bool:
    """Whether the chat template's generation prompt opens a reasoning block (`<think>`) that the
    model is to close: Qwen3-VL-*-Thinking's does (`<|im_start|>assistant\n<think>\n`);
    Instruct's does not, nor does one that writes an empty `<think>\n\n</think>\n\n`."""
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}]}]
    try:
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:  # noqa: BLE001 - no template, or one that needs other messages
        return False
    return isinstance(text, str) and text.rstrip().endswith("<think>")
