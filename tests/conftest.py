"""Shared fixtures: the tiny random-weight Qwen3-VL and random-weight copies of the real
Qwen3-VL-2B-Instruct/-Thinking files, each built once and cached under a temp dir."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# transformers >= 5.25: from_pretrained kernelizes layers with Hub kernels unless told not to
# (and refuses without the `kernels` package). The app's loader passes use_kernels=False; this
# covers the tests' own from_pretrained calls (test_real_checkpoint checks the loader without it).
os.environ.setdefault("USE_HUB_KERNELS", "NO")

import pytest  # noqa: E402


CACHE = Path(tempfile.gettempdir()) / "caption-studio-tests"


def _key(*parts: bytes) -> str:
    """A cache key: the builder's source, what it reads, and the transformers version that
    writes the folder (a second environment on another version builds its own copy)."""
    import transformers

    h = hashlib.sha1(transformers.__version__.encode())
    for part in parts:
        h.update(part)
    return h.hexdigest()[:12]


def _tiny_model_cache_dir() -> Path:
    from desktop_app.testing import tiny_model

    return CACHE / f"tiny-qwen3-vl-{_key(Path(tiny_model.__file__).read_bytes())}"


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A folder holding the tiny checkpoint (built on first use, reused while its code is unchanged)."""
    from desktop_app.testing.tiny_model import build_tiny_model

    path = _tiny_model_cache_dir()
    if not (path / "model.safetensors").exists():
        build_tiny_model(path)
    return path


def _real_model_dir(kind: str) -> Path:
    """The random-weight copy of the real `kind` checkpoint files (skips where they are missing)."""
    from desktop_app.testing import real_model

    reason = real_model.missing_reason(kind)
    if reason is not None:
        pytest.skip(reason)
    src = real_model.source_dir(kind)
    key = _key(Path(real_model.__file__).read_bytes(), real_model.files_digest(src).encode())
    # The folder name keeps "Thinking"/"Instruct", as a downloaded checkpoint's does.
    path = CACHE / f"{real_model.KINDS[kind]}-random-{key}"
    if not (path / "model.safetensors").exists():
        real_model.build_real_model(path, kind)
    return path


@pytest.fixture(scope="session")
def real_instruct_dir() -> Path:
    """Random weights around the real Qwen3-VL-2B-Instruct tokenizer, template and configs."""
    return _real_model_dir("instruct")


@pytest.fixture(scope="session")
def real_thinking_dir() -> Path:
    """Random weights around the real Qwen3-VL-2B-Thinking files (its template opens <think>)."""
    return _real_model_dir("thinking")


@pytest.fixture(scope="session", params=["tiny", "real"])
def text_model_dir(request: pytest.FixtureRequest) -> Path:
    """Tests about text run twice: on the tiny fixture and on the real tokenizer and template."""
    return request.getfixturevalue("tiny_model_dir" if request.param == "tiny" else "real_instruct_dir")
