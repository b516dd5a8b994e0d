"""Multi-image comparisons kept in a folder's library: the question, the images, the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from desktop_app.library.database import Database

MIN_IMAGES = 2
MAX_IMAGES = 20


@dataclass(frozen=True)
class Comparison:
    """One stored comparison; `paths` are POSIX paths relative to the folder, in the order sent."""

    id: int
    question: str
    paths: tuple[str, ...]
    answer: str
    model: str = ""
    truncated: bool = False
    created_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The export form (time as ISO 8601 UTC)."""
        when = datetime.fromtimestamp(self.created_at, timezone.utc).isoformat(timespec="seconds")
        return {"id": self.id, "question": self.question, "paths": list(self.paths),
                "answer": self.answer, "model": self.model, "truncated": self.truncated,
                "created_at": when, **({"extra": self.extra} if self.extra else {})}


def check_count(count: int) -> None:
    """ValueError unless `count` images can be compared (2 to 20)."""
    if not MIN_IMAGES <= count <= MAX_IMAGES:
        raise ValueError(f"a comparison takes {MIN_IMAGES} to {MAX_IMAGES} images, not {count}")


def insert(db: Database, question: str, rel_paths: Sequence[str], answer: str, model: str = "",
           truncated: bool = False, extra: Mapping[str, Any] | None = None,
           created_at: float | None = None) -> Comparison:
    """Store one comparison (committed) and return it with its id."""
    check_count(len(rel_paths))
    when = time.time() if created_at is None else float(created_at)
    extra = dict(extra or {})
    with db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO comparisons (question, paths, answer, model, truncated, extra, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (question, json.dumps(list(rel_paths), ensure_ascii=False), answer, model or "",
             int(bool(truncated)), json.dumps(extra, ensure_ascii=False), when))
        new_id = int(cursor.lastrowid)
    return Comparison(new_id, question, tuple(rel_paths), answer, model or "", bool(truncated), when, extra)


def select(db: Database, limit: int | None = None) -> list[Comparison]:
    """Stored comparisons, newest first."""
    sql = "SELECT * FROM comparisons ORDER BY created_at DESC, id DESC"
    rows = db.query(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
    return [_from_row(row) for row in rows]


def delete(db: Database, comparison_id: int) -> bool:
    """Remove one comparison (committed); False when it did not exist."""
    with db.transaction() as conn:
        return conn.execute("DELETE FROM comparisons WHERE id = ?", (comparison_id,)).rowcount > 0


def _from_row(row: Any) -> Comparison:
    try:
        extra = json.loads(row["extra"] or "{}")
    except ValueError:
        extra = {}
    return Comparison(int(row["id"]), row["question"], tuple(json.loads(row["paths"])), row["answer"],
                      row["model"], bool(row["truncated"]), float(row["created_at"]),
                      extra if isinstance(extra, dict) else {})
