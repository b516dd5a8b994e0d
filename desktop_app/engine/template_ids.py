"""The token ids of a chat template around its media placeholders (images, a video)."""

from __future__ import annotations

import threading
from typing import Any

from .prompts import build_messages


class PromptPieces:
    """The token ids of the chat template around its media placeholders, cached per prompt.

    The template's text for (prompt, media, count) is split at the `count` placeholders and
    each piece tokenised apart: placeholders sit between special tokens, so the pieces give
    exactly the ids the processor gives for the whole text. Thread-safe; a folder with one
    prompt tokenises it once.
    """

    MAX_CACHED = 512  # distinct (prompt, media, count) entries kept

    def __init__(self, processor: Any, system_prompt: str | None, thinking: bool | None = None):
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.system_prompt = system_prompt
        # The template's enable_thinking (None: not passed, the template's default).
        self.template_kwargs = {} if thinking is None else {"enable_thinking": thinking}
        self._placeholders = {"image": processor.image_token, "video": processor.video_token}
        self._cache: dict[tuple[str, str, int], list[list[int]]] = {}
        self._lock = threading.Lock()

    def text(self, prompt: str, media: str = "image", count: int = 1) -> str:
        """The chat-template text with `count` `media` placeholders, then `prompt`."""
        messages = build_messages(prompt, self.system_prompt, media=media, count=count)
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                                  **self.template_kwargs)

    def encode(self, text: str) -> list[int]:
        """Ids of plain text (no special tokens added)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def ids(self, prompt: str, media: str = "image", count: int = 1) -> list[list[int]]:
        """The `count + 1` id pieces around the placeholders."""
        key = (prompt, media, count)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        pieces = self.text(prompt, media, count).split(self._placeholders[media])
        if len(pieces) != count + 1:
            raise ValueError(f"the chat template put {len(pieces) - 1} {media} placeholders "
                             f"in the prompt, not {count}")
        out = [self.encode(piece) for piece in pieces]
        with self._lock:
            if len(self._cache) >= self.MAX_CACHED:  # a server sees endless distinct prompts
                self._cache.clear()
            self._cache[key] = out
        return out
