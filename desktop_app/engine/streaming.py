"""Incremental detokenisation of one caption: token ids in, new text out.

transformers' streamers refuse batches, so every row of a batch gets one of these. Text is
decoded from the start of the current word window so multi-byte characters and
byte-level merges come out whole; text ending in U+FFFD (an incomplete UTF-8 sequence) is
held back until the next token completes it.
"""

from __future__ import annotations

from typing import Any, Iterable


class RowTextStream:
    """Accumulates one row's token ids and returns the text each new token adds."""

    def __init__(self, tokenizer: Any, stop_ids: Iterable[int] = (), vocab_size: int | None = None):
        self._tokenizer = tokenizer
        self._stop_ids = frozenset(int(i) for i in stop_ids)
        self._vocab_size = vocab_size if vocab_size is not None else len(tokenizer)
        self.ids: list[int] = []
        self.text = ""
        self._window_start = 0  # first id of the window being re-decoded
        self._window_text_len = 0  # length of self.text when that window started
        self.stopped = False

    def push(self, token_id: int) -> str:
        """Add one token; returns the newly completed text (may be empty)."""
        if self.stopped:
            return ""
        if token_id in self._stop_ids:
            self.stopped = True
            return self.flush()
        self.ids.append(int(token_id))
        window = self._decode(self.ids[self._window_start:])
        if window.endswith("\ufffd"):
            return ""
        new = window[len(self.text) - self._window_text_len:]
        self.text += new
        if len(self.ids) - self._window_start > 8 and new and not new[-1].isalnum():
            # Start a fresh window at a word boundary: keeps each decode short.
            self._window_start = len(self.ids)
            self._window_text_len = len(self.text)
        return new

    def append(self, token_id: int) -> None:
        """Add one token without decoding it (nobody watches the stream); `flush()` decodes."""
        if not self.stopped and token_id not in self._stop_ids:
            self.ids.append(int(token_id))

    def flush(self) -> str:
        """Text still held back (an incomplete character at the end), decoded as is."""
        window = self._decode(self.ids[self._window_start:])
        new = window[len(self.text) - self._window_text_len:]
        self.text += new
        return new

    def _decode(self, ids: list[int]) -> str:
        # Random-weight test models emit ids past the tokenizer: they decode to nothing.
        known = [i for i in ids if i < self._vocab_size]
        return self._tokenizer.decode(known, skip_special_tokens=True,
                                      clean_up_tokenization_spaces=False)
