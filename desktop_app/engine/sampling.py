"""Per-row token selection: greedy or seeded sampling that does not depend on the batch.

Sampling draws its randomness from a counter-based hash of (row seed, step, token id)
instead of a global generator, so a row's tokens depend only on its own logits, seed and
step: the same image with the same seed gives the same caption alone or inside any batch,
in `generate()` or in the engine's own decode loop. Everything is vectorised over rows and
has fixed shapes, so it can run inside a captured CUDA graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_MASK32 = 0xFFFFFFFF


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (lowbias32) on int64 tensors holding values below 2**32."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    return x ^ (x >> 16)


def gumbel_noise(seeds: torch.Tensor, steps: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
    """Gumbel(0, 1) noise for each (row, candidate): rows by `seeds`/`steps` (B,), ids (B, K)."""
    row_key = _hash32((seeds.long() & _MASK32) ^ ((steps.long() * 0x9E3779B9) & _MASK32))
    x = _hash32(row_key[:, None] ^ (token_ids.long() & _MASK32))
    uniform = (x.double() + 0.5) / 4294967296.0  # strictly inside (0, 1)
    return -torch.log(-torch.log(uniform)).float()


@dataclass
class RowSampling:
    """Per-row sampling settings as tensors of shape (B,) on the logits' device."""

    temperature: torch.Tensor  # float; 0 = greedy
    top_p: torch.Tensor  # float in (0, 1]
    top_k: torch.Tensor  # long; 0 = off
    seeds: torch.Tensor  # long, 31-bit

    @classmethod
    def uniform(cls, rows: int, temperature: float, top_p: float, top_k: int,
                seeds: list[int], device: torch.device | str) -> "RowSampling":
        """Settings shared by all rows, with one seed per row."""
        full = lambda v, dt: torch.full((rows,), v, dtype=dt, device=device)  # noqa: E731
        return cls(full(temperature, torch.float32), full(top_p, torch.float32),
                   full(top_k, torch.long), torch.tensor(seeds, dtype=torch.long, device=device))

    def index(self, rows: torch.Tensor | slice) -> "RowSampling":
        """The settings of some rows."""
        return RowSampling(self.temperature[rows], self.top_p[rows], self.top_k[rows], self.seeds[rows])


def apply_penalties(logits: torch.Tensor, seen: torch.Tensor, repetition: float,
                    presence: float) -> torch.Tensor:
    """HF-style repetition penalty and OpenAI-style presence penalty on tokens in `seen` (B, V) bool."""
    if repetition != 1.0:
        penalised = torch.where(logits < 0, logits * repetition, logits / repetition)
        logits = torch.where(seen, penalised, logits)
    if presence != 0.0:
        logits = logits - presence * seen.to(logits.dtype)
    return logits


def apply_row_penalties(logits: torch.Tensor, seen: torch.Tensor, repetition: torch.Tensor,
                        presence: torch.Tensor) -> torch.Tensor:
    """`apply_penalties` with each row's own penalties, (B,) float tensors (1 and 0 = off).

    Exact for rows with both off: x / 1, x * 1 and x - 0 * seen are x in floating point.
    """
    rep = repetition[:, None]
    penalised = torch.where(logits < 0, logits * rep, logits / rep)
    logits = torch.where(seen, penalised, logits)
    return logits - presence[:, None] * seen.to(logits.dtype)


def select_tokens(logits: torch.Tensor, sampling: RowSampling, steps: torch.Tensor,
                  max_top_k: int = 0) -> torch.Tensor:
    """Pick each row's next token from `logits` (B, V): argmax where temperature is 0.

    `max_top_k` > 0 says every sampling row has 0 < top_k <= max_top_k, so candidates can be
    cut to that many before sorting (much cheaper than sorting a 150k vocabulary).
    """
    if not bool((sampling.temperature > 0).any()):
        return logits.float().argmax(dim=-1)
    return sample_tokens(logits, sampling, steps, max_top_k)


def sample_tokens(logits: torch.Tensor, sampling: RowSampling, steps: torch.Tensor,
                  max_top_k: int = 0) -> torch.Tensor:
    """`select_tokens` without its greedy shortcut: no host sync, so a CUDA graph can hold it.

    Rows with temperature 0 still get the argmax; the result equals `select_tokens`'s.
    """
    logits = logits.float()
    greedy = logits.argmax(dim=-1)
    k = max_top_k if max_top_k > 0 else logits.shape[-1]
    values, ids = torch.topk(logits, k, dim=-1, sorted=True)
    temperature = sampling.temperature.clamp_min(1e-5)[:, None]
    scaled = values / temperature
    rank = torch.arange(k, device=logits.device)[None, :]
    keep = (sampling.top_k[:, None] <= 0) | (rank < sampling.top_k[:, None])
    probs = torch.softmax(scaled.masked_fill(~keep, float("-inf")), dim=-1)
    before = probs.cumsum(dim=-1) - probs  # mass of better candidates
    keep &= before < sampling.top_p[:, None]
    noisy = scaled + gumbel_noise(sampling.seeds, steps, ids)
    choice = noisy.masked_fill(~keep, float("-inf")).argmax(dim=-1)
    sampled = ids.gather(1, choice[:, None]).squeeze(1)
    return torch.where(sampling.temperature > 0, sampled, greedy)
