"""Exporters: captions from a library to sidecars (txt, XMP) and tables (JSONL, JSON, CSV, HF)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
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
TABLE_COLUMNS = ("path", "caption", "variants", "model_variants", "status", "source", "model", "prompt",
                 "seed", "seeds", "truncated", "review")
# A cell starting with one of these opens as a formula in LibreOffice and Excel (OWASP, "CSV
# Injection"): the CSV export puts a single quote before it.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Line breaks to str.splitlines() (and to JavaScript before ES2019) that json.dumps leaves raw
# with ensure_ascii=False; the other ones (\n, \r, \x0b, \x0c, \x1c-\x1e) it escapes itself.
_JSON_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}

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
    except (OSError, XmpError, SidecarChangedError, sqlite3.Error) as exc:
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
    """One row of the JSONL/JSON/CSV exports.

    `caption` is the current text (an edit, an imported sidecar or the model's). `variants`
    are the texts as they stand now, the way the txt export writes them: the caption first,
    then the other generated variants; empty without a caption. `model_variants` are the
    texts as the model wrote them, untouched by edits. `model`, `prompt`, `seed` (the first
    variant's), `seeds` (one per variant) and `truncated` describe that generation; `source`
    says who wrote the caption (generated, edit, sidecar).
    """
    meta = record.metadata
    return {
        "path": record.rel_path, "caption": record.caption,
        "variants": caption_texts(record) if record.has_caption else [],
        "model_variants": list(record.variants), "status": record.status.value,
        "source": record.source.value if record.source else None,
        "model": meta.model if meta else None, "prompt": meta.prompt if meta else None,
        "seed": meta.seed if meta else None, "seeds": list(meta.seeds) if meta else [],
        "truncated": record.truncated, "review": record.review.value,
    }


def csv_safe(value: Any) -> Any:
    """A text cell that no spreadsheet runs as a formula: `'` before `= + - @`, tab or CR.

    The spreadsheet then holds the text `'=1+1` instead of a formula (checked by hand with
    LibreOffice: without the quote it computes `=1+1`). Readers such as pandas and `csv` read
    the quote as part of the text: strip one leading `'` before one of those characters to
    get the caption back. Numbers and booleans are left alone.
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_text(rows: list[dict[str, Any]]) -> str:
    """CSV with a header; lists JSON-encoded in one column; newlines quoted; formulas neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS)
    writer.writeheader()
    for row in rows:
        cells = {**row, **{k: json.dumps(row[k], ensure_ascii=False)
                           for k in ("variants", "model_variants", "seeds")}}
        writer.writerow({k: csv_safe(v) for k, v in cells.items()})
    return buffer.getvalue()


def json_text(value: Any, indent: int | None = None) -> str:
    """`json.dumps` (UTF-8 text kept readable) with U+0085, U+2028 and U+2029 escaped.

    Those three are line breaks to `str.splitlines()` and to line-based tools, so a JSONL
    row holding one raw would read as two broken lines. JSON escapes are valid anywhere in
    a string, and json.dumps writes these characters only inside strings.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    for raw, escaped in _JSON_LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


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
            return json_text(rows, indent=2) + "\n"
        return "".join(json_text(row) + "\n" for row in rows)
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
        json_text({"file_name": r.rel_path, "text": r.caption}) + "\n"
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
           _const(json_text(rows, indent=2) + "\n"), options.only_missing)
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
