"""`caption-studio compare IMG IMG ...`: streams an answer and stores it in the folder's library."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from desktop_app.cli import main
from desktop_app.compare import comparison_request, per_image_pixels, question_text, shared_folder
from desktop_app.library import Library


def images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i}.png"
        Image.effect_noise((48 + 8 * i, 48), 40 + i).convert("RGB").save(path)
        paths.append(path)
    return paths


def test_compare_streams_and_stores(tmp_path, tiny_model_dir):
    paths = images(tmp_path / "shots", 3)
    data = tmp_path / "data"
    out, err = io.StringIO(), io.StringIO()
    from desktop_app.compare import compare_main

    code = compare_main([*map(str, paths), "--question", "Which is brightest?", "--model", str(tiny_model_dir),
                         "--device", "cpu", "--dtype", "fp32", "--max-new-tokens", "8",
                         "--data-dir", str(data)], out, err)
    assert code == 0, err.getvalue()
    assert "stored as comparison 1" in err.getvalue()
    with Library.open(tmp_path / "shots", data_dir=data) as library:
        (stored,) = library.comparisons()
    assert stored.paths == ("img0.png", "img1.png", "img2.png")
    assert stored.question == "Which is brightest?"
    assert stored.answer == out.getvalue().strip()  # what streamed is what was stored
    assert str(tiny_model_dir) in stored.model


def test_compare_usage_errors(tmp_path, tiny_model_dir, capsys):
    (one,) = images(tmp_path / "a", 1)
    assert main(["compare", str(one), "--model", str(tiny_model_dir)]) == 2
    assert "2 to 20 images" in capsys.readouterr().err
    assert main(["compare", str(one), str(tmp_path / "nope.png")]) == 2
    assert "not a file" in capsys.readouterr().err


def test_a_bad_image_fails_the_comparison_naming_it(tmp_path, tiny_model_dir, capsys):
    good = images(tmp_path / "b", 1)[0]
    bad = tmp_path / "b" / "broken.png"
    bad.write_bytes(b"junk")
    code = main(["compare", str(good), str(bad), "--model", str(tiny_model_dir), "--device", "cpu",
                 "--max-new-tokens", "4", "--data-dir", str(tmp_path / "data")])
    assert code == 1
    assert "broken.png" in capsys.readouterr().err


def test_request_and_helpers(tmp_path):
    a, b = images(tmp_path / "x", 2)
    (c,) = images(tmp_path / "y", 1)
    request = comparison_request([a, b], "Keep {filename} literal")
    (item,) = request.items
    assert item.path == a and item.extra_paths == (b,)
    assert shared_folder([a, b]) == tmp_path / "x" and shared_folder([a, c]) is None
    assert question_text("differences").startswith("Compare these images")
    assert question_text("my own") == "my own"
    assert per_image_pixels(2, 1024 * 1024) == 1024 * 1024  # the user's cap when it fits
    assert per_image_pixels(20, 1024 * 1024) * 20 <= 4 * 1024 * 1024  # shared out of the budget
    assert per_image_pixels(20, None) == per_image_pixels(20, 10**9)


def test_python_m_compare_runs(tmp_path, tiny_model_dir):
    paths = images(tmp_path / "m", 2)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "compare", *map(str, paths), "--model",
                           str(tiny_model_dir), "--device", "cpu", "--max-new-tokens", "4", "--no-store"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
