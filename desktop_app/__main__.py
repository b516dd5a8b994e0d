"""`python -m desktop_app` / `caption-studio`: the window without arguments, else the CLI."""

from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("--smoke-test"):
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


if __name__ == "__main__":
    raise SystemExit(main())
