"""Shared fixtures: the tiny random-weight Qwen3-VL, built once and cached under a temp dir."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402


def _tiny_model_cache_dir() -> Path:
    from desktop_app.testing import tiny_model

    source = Path(tiny_model.__file__).read_bytes()
    key = hashlib.sha1(source).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "caption-studio-tests" / f"tiny-qwen3-vl-{key}"


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A folder holding the tiny checkpoint (built on first use, reused while its code is unchanged)."""
    from desktop_app.testing.tiny_model import build_tiny_model

    path = _tiny_model_cache_dir()
    if not (path / "model.safetensors").exists():
        build_tiny_model(path)
    return path
