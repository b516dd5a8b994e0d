"""A tiny random-weight Qwen3-VL-MoE checkpoint (4 experts, 2 per token), for the MoE adapter.

Same tokenizer, processor and template as `tiny_model`; only the text decoder's MLPs are
sparse mixture-of-experts blocks. `python -m desktop_app.testing.tiny_moe OUT_DIR`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import tiny_model

MOE = {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
       "decoder_sparse_step": 1, "mlp_only_layers": []}


def build_tiny_moe(out_dir: str | os.PathLike[str], seed: int = 0) -> Path:
    """Write the tiny MoE checkpoint to `out_dir` (a temp folder renamed at the end)."""
    import torch
    from transformers import GenerationConfig, Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration

    def fill(tmp: Path) -> None:
        tokenizer = tiny_model._train_tokenizer()
        processor = tiny_model._build_processor(tokenizer)
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in tiny_model.SPECIAL_TOKENS}
        config = Qwen3VLMoeConfig(
            text_config={**tiny_model.TEXT_CONFIG, **MOE, "vocab_size": tiny_model.MODEL_VOCAB},
            vision_config=tiny_model.VISION_CONFIG,
            image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
            tie_word_embeddings=False)
        torch.manual_seed(seed)
        model = Qwen3VLMoeForConditionalGeneration(config).eval()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() >= 2:
                    p.normal_(0.0, 0.2 if "embed" in name or "lm_head" in name else 0.08)
        model.generation_config = GenerationConfig(
            eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"],
            bos_token_id=ids["<|endoftext|>"], do_sample=False, max_new_tokens=64)
        model.save_pretrained(tmp, safe_serialization=True)
        processor.save_pretrained(tmp)

    return tiny_model.write_checkpoint(out_dir, fill)


if __name__ == "__main__":
    print(build_tiny_moe(sys.argv[1]))
