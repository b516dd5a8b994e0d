"""The main window's library work, run on its background executors (no Qt here).

Each function takes plain values and a `Library`, does one unit of reading or writing, and
returns plain values for the GUI thread to show.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..library import Library
from .media_model import MediaItem

if TYPE_CHECKING:
    from ..engine import CaptionRequest, ImageCaptioned
    from .settings_panel import RunSettings


def open_library(folder: Path, data_dir: Path | None, settings: RunSettings) -> tuple[Library, list[MediaItem]]:
    """Open and sync a folder's library and build its grid items (runs off the GUI thread).

    The garbage collector pauses meanwhile: a 100k-file folder allocates a million objects,
    and the collections they set off hold the GIL for 100-250 ms each, freezing the window
    although the work runs in another thread. (Nothing here makes reference cycles.)
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        library = Library.open(folder, data_dir=data_dir, recursive=settings.recursive,
                               sidecar_ext=settings.sidecar_ext)
        return library, [MediaItem.from_record(r, library.root) for r in library.items()]
    finally:
        if paused:
            gc.enable()


def freeze_heap() -> None:
    """Take the objects alive now out of the garbage collector's passes (GUI thread, once a
    folder has opened or a model has loaded).

    A full collection walks every tracked object while holding the GIL: with a 20k-file
    folder (its items and paths, the libraries imported) one pass took 70-90 ms, a visible
    stall of the grid (benchmarks/gui_grid.py). What is alive at these moments lives as long
    as the folder or the model; frozen, it is still freed by reference counting when dropped,
    only reference cycles among it are no longer collected. A model after captioning is such
    a cycle, so `CaptionEngine.unload` unfreezes before it collects (and the window freezes
    again once the model is gone). The young generations are collected first (cheap) so that
    fresh cyclic garbage is not frozen with them.
    """
    gc.collect(1)
    gc.freeze()


def commit_result(library: Library, result: ImageCaptioned, policy: Any, variants: int) -> tuple[Any, str | None]:
    """Store one generated caption and write its sidecar (writer thread); (record, problem).

    A result without caption text (unfinished reasoning, an empty answer) replaces neither
    the stored caption nor the sidecar: the store notes why, and the problem says so.
    """
    if not result.has_text:
        message = result.problem_message("Max new tokens")
        library.record_failure(result.path, message, result.problem or "")
        return library.item(result.path), message
    caption = result.caption.strip()
    text = "\n\n".join(v.strip() for v in result.variants) if variants > 1 else caption
    metadata = dict(result.metadata, truncated=result.truncated, reasoning=result.reasoning)
    problem = None
    if library.record_result(result.path, caption, [v.strip() for v in result.variants],
                             metadata=metadata, truncated=result.truncated, policy=policy):
        try:
            library.write_sidecar(result.path, text)
        except Exception as exc:  # noqa: BLE001 - the caption is safe in the store; say why the file is not
            problem = f"caption saved, but its caption file could not be written: {exc}"
    return library.item(result.path), problem


def _plan_run(library: Library, settings: RunSettings, subset: list[Path] | None
              ) -> tuple[list[Path], CaptionRequest | None]:
    """The files a run captions and its request (writer thread)."""
    paths = library.pending(settings.run_policy, subset)
    return paths, settings.request(paths) if paths else None


def commit_edit(library: Library, path: Path, text: str) -> Any:
    """Store a user's caption and write its sidecar (writer thread); returns the record."""
    library.record_edit(path, text)
    library.write_sidecar(path)
    return library.item(path)


def commit_review(library: Library, paths: list[Path], review: str) -> list[tuple[Path, str]]:
    """Store a review mark on each file (writer thread); returns the files that failed, and why."""
    errors = []
    for path in paths:
        try:
            library.set_review(path, review)
        except Exception as exc:  # noqa: BLE001 - one bad file does not stop the others
            errors.append((path, str(exc)))
    return errors


def step_history(library: Library, path: Path, forward: bool) -> tuple[bool, Any]:
    """Undo (or redo) one caption in the store and rewrite its sidecar; (moved, record)."""
    moved = (library.redo(path) if forward else library.undo(path)) is not None
    if moved:
        library.write_sidecar(path, force=True)
    return moved, library.item(path)
