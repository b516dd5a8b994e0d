"""Exporters: captions from a library to sidecars (txt, XMP) and tables (JSONL, JSON, CSV, HF)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.library.atomic import atomic_write_text
from desktop_app.library.boxes import add_boxes
from desktop_app.library.library import Library, SidecarChangedError
from desktop_app.library.models import ItemRecord
from desktop_app.library.scan import IMAGE_EXTENSIONS
from desktop_app.library.xmp import XmpError, build_xmp, update_xmp, xmp_sidecar_path

log = logging.getLogger(__name__)

FORMATS = ("txt", "jsonl", "json", "csv", "hf", "xmp", "comparisons")
VARIANT_MODES = ("first", "joined", "separate")
TABLE_NAMES = {"jsonl": "captions.jsonl", "json": "captions.json", "csv": "captions.csv",
               "hf": "metadata.jsonl", "comparisons": "comparisons.json"}
TABLE_COLUMNS = ("path", "caption", "variants", "status", "model", "prompt", "seed", "truncated",
                 "review")


@dataclass(frozen=True)
class ExportOptions:
    """What to export and where (mirrors the `export` command line)."""

    fmt: str
    out: Path | None = None
    only_missing: bool = False
    variants: str = "first"
    ext: str = ".txt"


@dataclass
class ExportResult:
    """Files written, skipped (already there with --only-missing) and failed (with the reason)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def caption_texts(record: ItemRecord) -> list[str]:
    """The caption and the other variants: the current caption stands in for the first one.

    Args:
        record: A captioned file.

    Returns:
        At least one text.
    """
    return [record.caption, *record.variants[1:]]


def _write(result: ExportResult, target: Path, produce: Callable[[], str | None],
           only_missing: bool) -> None:
    """Write one target atomically, recording the outcome instead of raising."""
    if only_missing and target.exists():
        result.skipped.append(target)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        text = produce()
        if text is not None:
            atomic_write_text(target, text)
    except (OSError, XmpError, SidecarChangedError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        result.failed.append((target, reason))
        return
    result.written.append(target)


def _const(text: str) -> Callable[[], str]:
    """A producer returning `text` (the content is known before the write)."""
    return lambda: text


def _mirrored(library: Library, target: Path, out: Path | None) -> Path:
    """`target` (inside the folder) moved under `out`, keeping its subfolders."""
    return target if out is None else out / target.relative_to(library.root)


def _captioned(library: Library) -> list[ItemRecord]:
    """Present files that have a caption, in natural order."""
    return [r for r in library.items() if r.has_caption]


def export_txt(library: Library, options: ExportOptions) -> ExportResult:
    """Text sidecars beside each file, or in a mirrored tree under `options.out`."""
    result = ExportResult()
    for record in _captioned(library):
        sidecar = library.sidecar_path(record.rel_path, options.ext)
        texts = caption_texts(record)
        if options.variants == "separate":
            stem = sidecar.name[: -len(options.ext)]
            for number, text in enumerate(texts, start=1):
                target = _mirrored(library, sidecar.with_name(f"{stem}.{number}{options.ext}"), options.out)
                _write(result, target, _const(text), options.only_missing)
            continue
        content = texts[0] if options.variants == "first" else "\n\n".join(texts)
        target = _mirrored(library, sidecar, options.out)
        if options.out is None and options.ext == library.sidecar_ext:
            # The library's own sidecar: write through it, so its stamp is remembered.
            def produce(rel: str = record.rel_path, text: str = content) -> None:
                library.write_sidecar(rel, text)
            _write(result, target, produce, options.only_missing)
        else:
            _write(result, target, _const(content), options.only_missing)
    return result


def export_xmp(library: Library, options: ExportOptions) -> ExportResult:
    """An XMP sidecar (`photo.jpg.xmp`) per file; existing ones keep all but dc:description."""
    result = ExportResult()
    for record in _captioned(library):
        target = _mirrored(library, xmp_sidecar_path(library.absolute(record.rel_path)), options.out)

        def produce(target: Path = target, caption: str = record.caption) -> str:
            return update_xmp(target.read_bytes(), caption) if target.exists() else build_xmp(caption)
        _write(result, target, produce, options.only_missing)
    return result


def table_row(record: ItemRecord) -> dict[str, Any]:
    """One row of the JSONL/JSON/CSV exports."""
    meta = record.metadata
    return {
        "path": record.rel_path, "caption": record.caption, "variants": list(record.variants),
        "status": record.status.value, "model": meta.model if meta else None,
        "prompt": meta.prompt if meta else None, "seed": meta.seed if meta else None,
        "truncated": record.truncated, "review": record.review.value,
    }


def _csv_text(rows: list[dict[str, Any]]) -> str:
    """CSV with a header; variants JSON-encoded in one column; newlines quoted."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "variants": json.dumps(row["variants"], ensure_ascii=False)})
    return buffer.getvalue()


def _table_target(library: Library, options: ExportOptions) -> Path:
    """Where a one-file export goes: the folder root, or `--out`."""
    return (options.out or library.root) / TABLE_NAMES[options.fmt]


def export_table(library: Library, options: ExportOptions) -> ExportResult:
    """One JSONL, JSON or CSV file with a row per present file (any status)."""
    rows = [table_row(r) for r in library.items()]
    if options.fmt != "csv":  # grounding captions carry their parsed boxes (see library.boxes)
        rows = [add_boxes(row, library.absolute(row["path"])) for row in rows]

    def produce() -> str:
        if options.fmt == "csv":
            return _csv_text(rows)
        if options.fmt == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    result = ExportResult()
    _write(result, _table_target(library, options), produce, options.only_missing)
    return result


def export_hf(library: Library, options: ExportOptions) -> ExportResult:
    """A Hugging Face imagefolder `metadata.jsonl`: `file_name` (relative, POSIX) and `text`.

    `file_name` is relative to the folder, so the file belongs at the folder root (the
    default); with `--out` elsewhere it must be moved there before loading. Videos are left
    out: `imagefolder` only loads images.
    """
    lines = [
        json.dumps({"file_name": r.rel_path, "text": r.caption}, ensure_ascii=False) + "\n"
        for r in _captioned(library)
        if os.path.splitext(r.rel_path)[1].lower() in IMAGE_EXTENSIONS
    ]
    result = ExportResult()
    _write(result, _table_target(library, options), _const("".join(lines)), options.only_missing)
    return result


def export_comparisons(library: Library, options: ExportOptions) -> ExportResult:
    """comparisons.json: every stored multi-image comparison, newest first (see library.comparisons)."""
    rows = [c.as_dict() for c in library.comparisons()]
    result = ExportResult()
    _write(result, _table_target(library, options),
           _const(json.dumps(rows, ensure_ascii=False, indent=2) + "\n"), options.only_missing)
    return result


EXPORTERS: dict[str, Callable[[Library, ExportOptions], ExportResult]] = {
    "txt": export_txt, "xmp": export_xmp, "jsonl": export_table, "json": export_table,
    "csv": export_table, "hf": export_hf, "comparisons": export_comparisons,
}


def export(library: Library, options: ExportOptions) -> ExportResult:
    """Run the exporter of `options.fmt`.

    Args:
        library: An open, synced library.
        options: Format and targets.

    Returns:
        What was written, skipped and failed.
    """
    return EXPORTERS[options.fmt](library, options)
