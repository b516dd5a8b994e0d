"""A multi-image comparison through an OpenAI-compatible server gives the local engine's answer."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from desktop_app.compare import compare_main, comparison_request  # noqa: E402
from desktop_app.engine import GenerationParams, ImageCaptioned, ImageFailed  # noqa: E402
from desktop_app.engine.remote import RemoteEngine  # noqa: E402
from desktop_app.server.app import parse_request  # noqa: E402
from tests.engine.test_remote import _serve, engine, make_folder  # noqa: E402,F401


def test_remote_comparison_equals_local(engine, tiny_model_dir: Path, tmp_path: Path) -> None:
    paths = make_folder(tmp_path / "imgs", 3)
    request = comparison_request(paths, "What differs? {keep braces}", GenerationParams(max_new_tokens=8))
    (local,) = list(engine.caption(request))
    served, bridge, store = _serve(tiny_model_dir)
    try:
        remote = RemoteEngine([served.url], model=None, concurrency=1)
        (answer,) = list(remote.caption(request))
        broken = tmp_path / "imgs" / "zz_broken.png"
        broken.write_bytes(b"junk")
        (failed,) = list(remote.caption(comparison_request([paths[0], broken], "Q?")))
        out, err = io.StringIO(), io.StringIO()
        code = compare_main([*map(str, paths), "--question", "What differs? {keep braces}",
                             "--max-new-tokens", "8", "--max-pixels", str(1024 * 1024),
                             "--endpoint", served.url, "--data-dir", str(tmp_path / "data")], out, err)
    finally:
        served.stop()
        bridge.stop()
        store.close()
    assert isinstance(local, ImageCaptioned) and isinstance(answer, ImageCaptioned)
    assert answer.caption == local.caption
    assert isinstance(failed, ImageFailed) and "zz_broken.png" in failed.reason
    assert code == 0, err.getvalue()
    assert out.getvalue().strip() == local.caption.strip()
    assert "stored as comparison 1" in err.getvalue()


def _url(color: tuple[int, int, int]) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_server_parses_several_images_in_order() -> None:
    parts = [{"type": "image_url", "image_url": {"url": _url((i * 40, 0, 0))}} for i in range(3)]
    body = {"messages": [{"role": "user", "content": [*parts, {"type": "text", "text": "Compare."}]}]}
    parsed = parse_request(body, 16)
    assert len(parsed.extra_images) == 2
    from desktop_app.server.app import RequestError

    too_many = {"messages": [{"role": "user", "content": parts * 7}]}
    with pytest.raises(RequestError, match="1 to 20 images"):
        parse_request(too_many, 16)


def test_server_refuses_a_video_mixed_with_images() -> None:
    from desktop_app.server.app import RequestError

    video = {"type": "video_url", "video_url": {"url": "data:video/mp4;base64," + base64.b64encode(b"x").decode()}}
    image = {"type": "image_url", "image_url": {"url": _url((0, 0, 0))}}
    alone = parse_request({"messages": [{"role": "user", "content": [video]}]}, 16)
    assert alone.suffix == ".mp4" and alone.extra_images == ()
    with pytest.raises(RequestError, match="a video must come alone"):
        parse_request({"messages": [{"role": "user", "content": [image, video]}]}, 16)
