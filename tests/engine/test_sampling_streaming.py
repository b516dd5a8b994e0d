"""Per-row token selection (greedy, seeded sampling) and per-row incremental detokenisation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from desktop_app.engine import sampling as sampling_module
from desktop_app.engine.sampling import RowSampling, select_tokens
from desktop_app.engine.streaming import RowTextStream

V = 50
SELECTORS = [select_tokens] + ([sampling_module.sample_tokens]
                               if hasattr(sampling_module, "sample_tokens") else [])


def logits(rows: int, vocab: int = V, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, vocab, generator=torch.Generator().manual_seed(seed)) * 3


def settings(rows: int, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
             seeds: list[int] | None = None) -> RowSampling:
    return RowSampling.uniform(rows, temperature, top_p, top_k, seeds or list(range(rows)), "cpu")


def steps(rows: int, step: int = 0) -> torch.Tensor:
    return torch.full((rows,), step, dtype=torch.long)


# -- select_tokens -----------------------------------------------------------------------
@pytest.mark.parametrize("select", SELECTORS)
def test_greedy_is_argmax(select):
    x = logits(16)
    assert torch.equal(select(x, settings(16, temperature=0.0), steps(16)), x.argmax(-1))
    assert torch.equal(select(x.to(torch.bfloat16), settings(16, temperature=0.0), steps(16)),
                       x.to(torch.bfloat16).float().argmax(-1))


@pytest.mark.parametrize("select", SELECTORS)
def test_sampling_depends_only_on_the_row_its_seed_and_step(select):
    x = logits(6)
    seeds = [11, 22, 33, 44, 55, 66]
    for step in (0, 1, 17):
        alone = torch.stack([select(x[i:i + 1], settings(1, 0.8, seeds=[seeds[i]]), steps(1, step))[0]
                             for i in range(6)])
        together = select(x, settings(6, 0.8, seeds=seeds), steps(6, step))
        assert torch.equal(alone, together)

        order = torch.tensor([4, 0, 5, 2, 1, 3])
        permuted = select(x[order], settings(6, 0.8, seeds=[seeds[i] for i in order]), steps(6, step))
        assert torch.equal(permuted, together[order])

        # Other rows with other temperatures, top-k and top-p do not change these rows.
        extra = logits(5, seed=9)
        mixed = RowSampling(
            temperature=torch.tensor([0.8] * 6 + [0.0, 1.5, 0.3, 2.0, 0.8]),
            top_p=torch.tensor([1.0] * 6 + [1.0, 0.5, 0.9, 1.0, 0.2]),
            top_k=torch.tensor([0] * 6 + [0, 3, 0, 7, 0]),
            seeds=torch.tensor(seeds + [1, 2, 3, 4, 5]))
        grown = select(torch.cat([x, extra]), mixed, steps(11, step))
        assert torch.equal(grown[:6], together)


@pytest.mark.parametrize("select", SELECTORS)
def test_sampling_varies_with_seed_and_step(select):
    x = torch.zeros(1, V)  # uniform: any token can come
    by_seed = {int(select(x, settings(1, 1.0, seeds=[s]), steps(1))[0]) for s in range(200)}
    by_step = {int(select(x, settings(1, 1.0, seeds=[5]), steps(1, t))[0]) for t in range(200)}
    assert len(by_seed) > V // 2 and len(by_step) > V // 2


@pytest.mark.parametrize("select", SELECTORS)
def test_top_k_one_and_tiny_top_p_are_greedy(select):
    x = logits(32, seed=3)
    greedy = x.argmax(-1)
    for step in range(5):
        assert torch.equal(select(x, settings(32, 1.3, top_k=1), steps(32, step)), greedy)
        assert torch.equal(select(x, settings(32, 1.3, top_k=1), steps(32, step), max_top_k=1), greedy)
        assert torch.equal(select(x, settings(32, 1.3, top_p=1e-6), steps(32, step)), greedy)


def chi_square(samples: torch.Tensor, probs: torch.Tensor) -> float:
    counts = torch.bincount(samples, minlength=probs.numel()).double()
    expected = probs.double() * samples.numel()
    mask = expected > 0
    assert counts[~mask].sum() == 0, "a token outside the allowed set was sampled"
    return float(((counts[mask] - expected[mask]) ** 2 / expected[mask]).sum())


@pytest.mark.parametrize("select", SELECTORS)
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampled_distribution_follows_the_softmax(select, temperature):
    n, vocab = 40_000, 8
    row = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])
    x = row.expand(n, vocab).contiguous()
    drawn = select(x, settings(n, temperature, seeds=list(range(n))), steps(n, 3))
    want = torch.softmax(row / temperature, -1)
    # 7 degrees of freedom: 40 is far in the tail (p < 1e-5) for a correct sampler.
    assert chi_square(drawn, want) < 40


@pytest.mark.parametrize("select", SELECTORS)
def test_top_k_and_top_p_renormalise_the_kept_tokens(select):
    n, vocab = 40_000, 8
    row = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])
    x = row.expand(n, vocab).contiguous()
    probs = torch.softmax(row, -1)

    drawn = select(x, settings(n, 1.0, top_k=3, seeds=list(range(n))), steps(n), max_top_k=3)
    top3 = torch.zeros(vocab)
    top3[:3] = probs[:3] / probs[:3].sum()
    assert chi_square(drawn, top3) < 30

    # Smallest set whose mass reaches top_p: cumulative mass before the 3rd token is < 0.7.
    top_p = float(probs[:2].sum()) + 0.01
    drawn = select(x, settings(n, 1.0, top_p=top_p, seeds=list(range(n))), steps(n))
    assert chi_square(drawn, top3) < 30


# -- RowTextStream ------------------------------------------------------------------------
# 𓀀 (U+13000) is a byte-level split in both tokenizers; the real one has 🙂 and 日 whole.
TEXT = "héllo wörld ✓ 日本語 🙂 𓀀"
LONG = (TEXT + " The quick brown fox, naïve café — «ça va?» 1234 Ωmega! ") * 3 + "end 🙂🙂"


@pytest.fixture(scope="module")
def tokenizer(text_model_dir: Path):
    """The tiny fixture's tokenizer, then the real Qwen3-VL one (151,669 tokens, built from
    vocab.json + merges.txt)."""
    return AutoTokenizer.from_pretrained(text_model_dir, local_files_only=True)


def stream(tokenizer, ids: list[int], **kwargs) -> tuple[RowTextStream, list[str]]:
    s = RowTextStream(tokenizer, **kwargs)
    pieces = [s.push(i) for i in ids]
    return s, pieces


@pytest.mark.parametrize("text", [TEXT, LONG], ids=["short", "long"])
def test_stream_joins_exactly_to_the_full_decode(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    # Both tokenizers split some of these characters into bytes: the test must see partial ones.
    assert any("\ufffd" in tokenizer.decode([i]) for i in ids)
    s, pieces = stream(tokenizer, ids)
    assert "".join(pieces) == tokenizer.decode(ids) == text
    assert s.text == text
    assert not any("\ufffd" in p for p in pieces)
    assert s.flush() == ""


def test_stream_stops_at_a_stop_id(tokenizer):
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = tokenizer.encode("héllo wörld", add_special_tokens=False)
    after = tokenizer.encode(" never shown", add_special_tokens=False)
    s, pieces = stream(tokenizer, ids + [stop] + after, stop_ids=[stop])
    assert "".join(pieces) == s.text == "héllo wörld"
    assert s.stopped
    assert s.push(ids[0]) == ""


def test_stream_stop_flushes_a_held_back_partial_character(tokenizer):
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = tokenizer.encode("ok 𓀀", add_special_tokens=False)
    partial = ids[:-1]  # the character's last byte is missing
    s = RowTextStream(tokenizer, stop_ids=[stop])
    shown = "".join(s.push(i) for i in partial)
    assert shown == "ok "
    tail = s.push(stop)
    assert tail and set(tail) == {"\ufffd"}
    assert s.text == shown + tail


def test_stream_ignores_ids_past_the_vocabulary_and_special_tokens(tokenizer):
    vocab = len(tokenizer)
    ids = tokenizer.encode(TEXT, add_special_tokens=False)
    noisy: list[int] = []
    for i, tok in enumerate(ids):
        noisy.append(tok)
        noisy.append(vocab + i % 50)  # what a padded random model emits
    noisy.insert(3, tokenizer.convert_tokens_to_ids("<|im_start|>"))
    s, pieces = stream(tokenizer, noisy, vocab_size=vocab)
    assert "".join(pieces) == s.text == TEXT
    assert RowTextStream(tokenizer).push(vocab + 7) == ""


def test_stream_keeps_think_tags_and_drops_special_tokens(tokenizer):
    """Qwen's <think> and </think> are added tokens but not special: decoding keeps them (the
    engine splits the reasoning at </think> in the text), while ChatML's special tokens go."""
    think, end_think, im_start, endoftext = tokenizer.convert_tokens_to_ids(
        ["<think>", "</think>", "<|im_start|>", "<|endoftext|>"])
    assert end_think == think + 1 and end_think not in tokenizer.all_special_ids
    assert im_start in tokenizer.all_special_ids and endoftext in tokenizer.all_special_ids
    ids = ([think] + tokenizer.encode("I see fur.", add_special_tokens=False) + [end_think]
           + tokenizer.encode("\n\nA cat 🙂 on a mat.", add_special_tokens=False) + [im_start, endoftext])
    s, pieces = stream(tokenizer, ids)
    assert "".join(pieces) == s.text == "<think>I see fur.</think>\n\nA cat 🙂 on a mat."
    assert s.text == tokenizer.decode(ids, skip_special_tokens=True)
    assert [p for p in pieces if "think>" in p] == ["<think>", "</think>"]  # one piece each


def test_stream_stops_at_either_qwen_stop_token(tokenizer):
    """The real generation config stops at <|im_end|> and <|endoftext|> ([151645, 151643])."""
    stops = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    text = tokenizer.encode("A cat.", add_special_tokens=False)
    for stop in stops:
        s, pieces = stream(tokenizer, text + [stop] + text, stop_ids=stops)
        assert s.stopped and "".join(pieces) == s.text == "A cat."
