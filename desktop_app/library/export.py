"""The `export` command: write a folder's captions as sidecars or tables (no Qt, no torch).

Exit codes: 0 everything written (or skipped with --only-missing), 1 some files could not be
written (each named on stderr with the reason) or the caption library could not be opened,
2 usage errors (bad option, no such folder).

Subfolders: without `--recursive`/`--no-recursive` the export follows the library: a folder
whose library holds files in subfolders (it was captioned or opened with subfolders) is
exported with them. Whatever is left out is counted on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from pathlib import Path

from desktop_app.library.exporters import (
    FORMATS,
    VARIANT_MODES,
    ExportOptions,
    ExportResult,
    export,
)
from desktop_app.library.library import Library
from desktop_app.library.scan import scan_relative
from desktop_app.library.sidecars import (
    DEFAULT_SIDECAR_EXTENSION,
    normalize_sidecar_ext,
)

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_WRITE_FAILED = 1
EXIT_USAGE = 2


def build_parser(prog: str = "python -m desktop_app export") -> argparse.ArgumentParser:
    """The argument parser of the `export` command.

    Args:
        prog: Program name shown in usage messages.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog=prog, description="Export the captions of a folder.",
        epilog="XMP sidecars are named photo.jpg.xmp (digiKam, darktable); an existing one keeps "
               "everything but the default-language dc:description (other languages too). hf writes "
               "metadata.jsonl for imagefolder. CSV cells starting with = + - @ tab or CR get a "
               "leading ' so spreadsheets do not run them as formulas.",
    )
    parser.add_argument("folder", type=Path, help="the media folder")
    parser.add_argument("--format", dest="fmt", required=True, choices=FORMATS)
    parser.add_argument("--out", type=Path, default=None,
                        help="write here instead of beside the media (sidecars keep subfolders)")
    parser.add_argument("--only-missing", action="store_true", help="skip files that already exist")
    parser.add_argument("--variants", choices=VARIANT_MODES, default="first",
                        help="txt: first variant, all joined by a blank line, or name.1.txt, name.2.txt ...")
    parser.add_argument("--ext", default=DEFAULT_SIDECAR_EXTENSION,
                        help="sidecar extension for txt (and for reading existing captions)")
    parser.add_argument("--recursive", action=argparse.BooleanOptionalAction, default=None,
                        help="include subfolders, or leave them out (default: as the library holds "
                             "them, i.e. as the folder was captioned)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the caption databases live (default: the user data folder)")
    return parser


def _parse(argv: list[str]) -> argparse.Namespace | int:
    """Parse and validate arguments; an exit code instead when they are unusable."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on errors (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not args.folder.is_dir():
        print(f"error: not a folder: {args.folder}", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.ext = normalize_sidecar_ext(args.ext)
    except ValueError as exc:
        print(f"error: --ext: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"error: --out is not a folder: {args.out}", file=sys.stderr)
        return EXIT_USAGE
    return args


def _report(result: ExportResult) -> int:
    """Print failures to stderr and a summary to stdout; return the exit code."""
    for path, reason in result.failed:
        print(f"error: {path}: {reason}", file=sys.stderr)
    print(f"{len(result.written)} written, {len(result.skipped)} skipped, {len(result.failed)} failed")
    return EXIT_WRITE_FAILED if result.failed else EXIT_OK


def _choose_scope(library: Library, recursive: bool | None) -> None:
    """Include subfolders when asked to, or (not asked) when the library holds files in them."""
    if recursive is None and library.holds_subfolders():
        library.recursive = True
        print("note: including subfolders, as this folder's library holds files in them "
              "(--no-recursive leaves them out)", file=sys.stderr)


def _say_left_out(library: Library, explicit: bool) -> None:
    """Count on stderr the media files in subfolders that a top-level export left out."""
    left = sum(1 for rel in scan_relative(library.root, True, library.extensions) if "/" in rel)
    if left:
        hint = "as --no-recursive asked" if explicit else "pass --recursive to include them"
        print(f"note: {left} media files in subfolders were left out ({hint})", file=sys.stderr)


def export_main(argv: list[str]) -> int:
    """Run `export FOLDER --format ... [options]`.

    Args:
        argv: The arguments after `export`.

    Returns:
        0 on success, 1 if some files failed to write, 2 on usage errors.
    """
    args = _parse(argv)
    if isinstance(args, int):
        return args
    options = ExportOptions(fmt=args.fmt, out=args.out.resolve() if args.out else None,
                            only_missing=args.only_missing, variants=args.variants, ext=args.ext)
    try:
        library = Library.open(args.folder, data_dir=args.data_dir, recursive=bool(args.recursive),
                               sidecar_ext=args.ext, sync=False)
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        print(f"error: cannot open the caption library of {args.folder}: {exc}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    with library:
        try:
            _choose_scope(library, args.recursive)
            library.sync()
        except (OSError, sqlite3.Error) as exc:
            print(f"error: cannot read the caption library of {args.folder}: {exc}", file=sys.stderr)
            return EXIT_WRITE_FAILED
        for conflict in library.last_sync.conflicts:
            print(f"warning: {conflict.sidecar} was changed by another program while "
                  f"{conflict.rel_path} had an unsaved edit; the edit is exported, the "
                  "sidecar text is kept in its history", file=sys.stderr)
        result = export(library, options)
        if not library.recursive:
            _say_left_out(library, explicit=args.recursive is False)
    return _report(result)


if __name__ == "__main__":
    raise SystemExit(export_main(sys.argv[1:]))
