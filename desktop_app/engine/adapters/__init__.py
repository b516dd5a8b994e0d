"""Model adapters: one module per model family, the ONLY code that touches transformers' model
internals (decoder layers, attention modules, rotary embedding, rope index, cache layout).

The continuous runner talks to an adapter's small interface (`base.ModelAdapter`): prefill a
left-padded group and hand back each row's K/V and last logits, compute one decode step's
logits over every slot, and say its cache shapes; a hybrid family (Qwen3.5) also makes the
fixed-size per-slot states of its recurrent layers (`slot_states`), which its prefill fills
and its decode step advances in place. Each adapter checks on construction that the
attributes it uses exist, and `base.self_check` compares its prefill and decode logits against
the model's own forward at load time. A model without an adapter (or whose check fails) runs on
the `generate()` runner instead.

Adding a family (e.g. Qwen3.5) is one new module here plus one line in `ADAPTERS`.
"""

from __future__ import annotations

from typing import Any

from .base import AdapterError, ModelAdapter, SelfCheck, self_check

# Model class name -> "module:Class" (imported on use, so a family's transformers module is
# loaded only when its model is).
ADAPTERS = {
    "Qwen3VLForConditionalGeneration": "qwen3_vl:Qwen3VLAdapter",
    "Qwen3VLMoeForConditionalGeneration": "qwen3_vl:Qwen3VLMoeAdapter",
    "Qwen3_5ForConditionalGeneration": "qwen3_5:Qwen35Adapter",
    "Qwen3_5MoeForConditionalGeneration": "qwen3_5:Qwen35MoeAdapter",
}


def adapter_for(model: Any) -> ModelAdapter:
    """The adapter of `model`'s family; AdapterError says why there is none or it cannot serve."""
    import importlib

    name = type(model).__name__
    target = ADAPTERS.get(name)
    if target is None:
        raise AdapterError(f"no decode-loop adapter for {name}")
    module, cls = target.split(":")
    adapter_cls = getattr(importlib.import_module(f".{module}", __name__), cls)
    return adapter_cls(model)


__all__ = ["ADAPTERS", "AdapterError", "ModelAdapter", "SelfCheck", "adapter_for", "self_check"]
