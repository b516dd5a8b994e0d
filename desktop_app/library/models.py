"""Plain value types of the caption library: statuses, run policies, records and reports."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePosixPath
from typing import Any


class Status(str, Enum):
    """Where a media file stands. `EDITED` means a person wrote or changed the caption."""

    PENDING = "pending"
    DONE = "done"
    EDITED = "edited"
    FAILED = "failed"


class Review(str, Enum):
    """A person's review mark of a caption: none yet, approved (good) or flagged (look again)."""

    NONE = ""
    APPROVED = "approved"
    FLAGGED = "flagged"


class Source(str, Enum):
    """Where the current caption (or a history entry) came from."""

    GENERATED = "generated"
    EDIT = "edit"
    SIDECAR = "sidecar"
    CONFLICT = "conflict"


class RunPolicy(str, Enum):
    """Which files a new captioning run may (re)caption."""

    SKIP_DONE_AND_EDITED = "skip_done_and_edited"
    SKIP_EDITED_ONLY = "skip_edited_only"
    OVERWRITE_ALL = "overwrite_all"

    def includes(self, status: Status) -> bool:
        """Whether a run under this policy captions a file with `status`.

        Args:
            status: The file's current status.

        Returns:
            True if the run should caption it.
        """
        if self is RunPolicy.OVERWRITE_ALL:
            return True
        if self is RunPolicy.SKIP_EDITED_ONLY:
            return status is not Status.EDITED
        return status in (Status.PENDING, Status.FAILED)


_METADATA_KEYS = ("model", "prompt", "params", "seed", "generated_at")


@dataclass(frozen=True)
class GenerationMetadata:
    """How a caption was made. `extra` keeps any other keys the engine reported."""

    model: str = ""
    prompt: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    generated_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The engines report `seeds` (one per variant), not `seed`: the first one is `seed`."""
        if self.seed is None and self.seeds:
            object.__setattr__(self, "seed", self.seeds[0])

    @property
    def seeds(self) -> tuple[int, ...]:
        """The sampling seed of each variant, in order (`extra["seeds"]`, else `(seed,)`)."""
        raw = self.extra.get("seeds")
        if isinstance(raw, (list, tuple)) and raw and all(
                isinstance(s, int) and not isinstance(s, bool) for s in raw):
            return tuple(raw)
        return () if self.seed is None else (self.seed,)

    @classmethod
    def coerce(cls, value: GenerationMetadata | Mapping[str, Any] | None) -> GenerationMetadata:
        """Accept a `GenerationMetadata`, a plain mapping (e.g. an event's dict) or None.

        Args:
            value: The metadata in any of the accepted shapes.

        Returns:
            A `GenerationMetadata`; unknown mapping keys land in `extra`.
        """
        if isinstance(value, GenerationMetadata):
            return value
        data = dict(value or {})
        known = {k: data.pop(k) for k in _METADATA_KEYS if k in data}
        if known.get("generated_at") is None:
            known.pop("generated_at", None)
        known["params"] = dict(known.get("params") or {})
        return cls(**known, extra=data)


@dataclass(frozen=True)
class ItemRecord:
    """Everything the library knows about one media file."""

    rel_path: str
    status: Status
    caption: str
    variants: tuple[str, ...]
    present: bool
    size: int | None
    mtime_ns: int | None
    source: Source | None = None
    failure_reason: str | None = None
    truncated: bool = False
    metadata: GenerationMetadata | None = None
    dirty: bool = False
    updated_at: float = 0.0
    review: Review = Review.NONE
    #: Why the last generation gave no caption text ("empty", "reasoning_unfinished"), else "".
    problem: str = ""

    @property
    def has_caption(self) -> bool:
        """Whether there is a caption to show or export (done or edited)."""
        return self.status in (Status.DONE, Status.EDITED)

    @property
    def posix_path(self) -> PurePosixPath:
        """The path relative to the folder, as a POSIX path."""
        return PurePosixPath(self.rel_path)


@dataclass(frozen=True)
class HistoryEntry:
    """One caption version of a file (`on_undo_chain` False: kept aside, e.g. a conflict)."""

    id: int
    caption: str
    status: Status
    source: Source
    created_at: float
    on_undo_chain: bool
    discarded: bool
    current: bool


@dataclass(frozen=True)
class Conflict:
    """A sidecar changed by another tool while the library held an unsaved edit.

    The edit stays the current caption; the sidecar's text is kept in the history.
    """

    rel_path: str
    library_caption: str
    sidecar_caption: str
    sidecar: str


@dataclass
class SyncReport:
    """What opening (or re-syncing) a folder found."""

    total: int = 0
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    seconds: float = 0.0
