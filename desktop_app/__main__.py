"""`python -m desktop_app` / `caption-studio`: the window without arguments, else the CLI."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if _wants_window(args):
        try:
            from .app import main as app_main  # the desktop window (imports Qt)
        except ImportError as exc:
            if "desktop_app.app" not in str(exc):
                raise
            sys.stderr.write("The desktop window is not part of this build yet; use the command "
                             "line: caption-studio caption FOLDER (see --help)\n")
            return 2
        return app_main(args)
    from .cli import main as cli_main

    return cli_main(args)


def _wants_window(args: list[str]) -> bool:
    """No arguments, a folder or file to open, or one of the window's own options."""
    if not args:
        return True
    first = args[0]
    if first in ("caption", "export", "serve", "compare"):
        return False
    window_options = ("--smoke-test", "--data-dir", "--log-level")
    return first.startswith(window_options) or Path(first).expanduser().exists()


if __name__ == "__main__":
    raise SystemExit(main())
