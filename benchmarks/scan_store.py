"""Folder scan and caption-store import on a generated folder of N files (default 100,000).

    PYTHONPATH=. python benchmarks/scan_store.py --files 100000 --json out.json

Files are empty (a scan never decodes); 10% carry a .txt sidecar to import. The folder is
cached under the temp dir so reruns measure the scan, not the file creation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.library import Library, scan_folder  # noqa: E402


def make_folder(root: Path, files: int) -> Path:
    folder = root / f"scan-{files}"
    done = folder / ".complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(files):
        sub = folder / f"part{i // 10000:02d}"
        if i % 10000 == 0:
            sub.mkdir(parents=True)
        ext = (".jpg", ".png", ".webp", ".JPG")[i % 4]
        (sub / f"image {i}{ext}").touch()
        if i % 10 == 0:
            (sub / f"image {i}.txt").write_text(f"caption {i}\n")
    done.touch()
    return folder


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    root = Path(tempfile.gettempdir()) / "caption-studio-bench"
    folder = make_folder(root, args.files)
    data = Path(tempfile.mkdtemp(prefix="store-", dir=root))
    rows = []
    t, found = timed(lambda: scan_folder(folder, recursive=True))
    rows.append(("scan (recursive)", t, len(found)))
    t, lib = timed(lambda: Library.open(folder, data_dir=data, recursive=True))
    report = lib.last_sync
    rows.append(("first open (import)", t, len(report.imported)))
    t, pending = timed(lambda: lib.pending())
    rows.append(("pending()", t, len(pending)))
    lib.close()
    t, lib = timed(lambda: Library.open(folder, data_dir=data, recursive=True))
    rows.append(("reopen (re-sync)", t, lib.last_sync.total))
    lib.close()
    shutil.rmtree(data, ignore_errors=True)
    print(f"{'step':<22} {'seconds':>8} {'count':>8}")
    for name, seconds, count in rows:
        print(f"{name:<22} {seconds:>8.2f} {count:>8}")
    if args.json:
        args.json.write_text(json.dumps({"files": args.files, "results": [
            {"step": n, "seconds": round(s, 3), "count": c} for n, s, c in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
