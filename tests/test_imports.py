"""The engine, the library and the command line never import Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HAS_CLI = (ROOT / "desktop_app" / "cli.py").exists()

# Runs in a fresh interpreter: argv[1] is a JSON list of modules, argv[2] "walk" to import
# every submodule of those packages too.
PROBE = """
import contextlib, importlib, io, json, pkgutil, sys
names, walk = json.loads(sys.argv[1]), sys.argv[2] == "walk"
errors = {}
for name in names:
    module = importlib.import_module(name)
    if name == "desktop_app.cli":  # the CLI imports the engine lazily: run its parser too
        with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
            module.build_parser().parse_args(["--help"])
    if walk and hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, name + "."):
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                errors[info.name] = repr(exc)
qt = sorted(m for m in sys.modules if m.split(".")[0] == "PySide6")
print(json.dumps({"qt": qt, "errors": errors}))
"""


def probe(names: list[str], walk: bool = False) -> dict:
    """Import `names` in a fresh interpreter: the PySide6 modules loaded and the import errors."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(names), "walk" if walk else "top"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_engine_library_and_cli_import_no_qt():
    # desktop_app/cli.py may not be written yet: it is checked once it exists.
    names = ["desktop_app.engine", "desktop_app.library"] + (["desktop_app.cli"] if HAS_CLI else [])
    out = probe(names)
    assert out["qt"] == [], f"importing {names} loaded {out['qt']}"


def test_no_engine_or_library_module_imports_qt():
    out = probe(["desktop_app.engine", "desktop_app.library"], walk=True)
    assert out["qt"] == [], out["qt"]
    assert out["errors"] == {}, out["errors"]
