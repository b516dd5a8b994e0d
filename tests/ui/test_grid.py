"""The thumbnail grid: item model, filter proxy, thumbnail loader and tile delegate."""

from __future__ import annotations

import builtins
import io
import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QImage, QPixmap

from desktop_app.ui import thumbnails
from desktop_app.ui.grid import STATUS_STYLE, ThumbnailGrid, TileDelegate
from desktop_app.ui.media_model import (
    STATUSES, MediaFilterProxy, MediaItem, MediaListModel, Roles,
)
from desktop_app.ui.thumbnails import ThumbnailLoader, cache_file_name
from tests.ui.conftest_grid import images, loader, loader_factory, make_image  # noqa: F401

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    # The offscreen platform says this whenever a top-level window is shown.
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

DECORATION = int(Qt.ItemDataRole.DecorationRole)
ALL_ROLES = [int(Qt.ItemDataRole.DisplayRole), DECORATION, int(Qt.ItemDataRole.ToolTipRole),
             *(int(r) for r in Roles)]


def items_for(paths: list[Path], root: Path | None = None) -> list[MediaItem]:
    """MediaItems cycling through every status; every third truncated."""
    out = []
    for i, path in enumerate(paths):
        status = STATUSES[i % len(STATUSES)]
        out.append(MediaItem(
            path=path, rel=str(path.relative_to(root)) if root else path.name, status=status,
            caption=f"A photo number {i} of a Cat" if status in ("done", "edited") else "",
            failure="cannot decode" if status == "failed" else "",
            truncated=i % 3 == 0, mtime=1000.0 - i, size=100 + i))
    return out


def fake_items(n: int, statuses: tuple[str, ...] = STATUSES) -> list[MediaItem]:
    """n items with paths that do not exist (for tests that never load thumbnails)."""
    return [MediaItem(Path(f"/nowhere/img{i}.jpg"), f"img{i}.jpg", statuses[i % len(statuses)],
                      caption=f"caption {i} dog" if i % 2 else f"caption {i} CAT",
                      truncated=i % 5 == 0, mtime=float(i)) for i in range(n)]


def wait_thumbnails(qtbot, loader: ThumbnailLoader, paths: list[Path]) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: all(loader.pixmap(p) is not None for p in paths), timeout=10_000)


def proxy_names(proxy: MediaFilterProxy) -> list[str]:
    return [proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(proxy.rowCount())]


# -- item model ---------------------------------------------------------------------------


def test_model_and_proxy_pass_the_model_tester(qtmodeltester, loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    model.set_items(items_for(images))
    qtmodeltester.check(model)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)

    model.update_item(images[0], status="done", caption="new caption", truncated=True)
    model.set_live_text(images[1], "streaming…")
    model.flush_live_text()
    proxy.set_status_filter("uncaptioned")
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)

    model.sort_by("mtime")
    proxy.set_text_filter("img")
    qtmodeltester.check(proxy)

    model.set_items(items_for(images[:3]))
    proxy.set_status_filter("all")
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
    loader.wait_for_done()


def test_roles_give_plain_values(loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    items = items_for(images)
    model.set_items(items)
    index = model.index(5, 0)
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "img5.jpg"
    assert model.data(index, Roles.PathRole) == images[5]
    assert model.data(index, Roles.StatusRole) == "failed"
    assert model.data(index, Roles.FailureRole) == "cannot decode"
    assert model.data(index, Roles.ItemRole) is items[5]
    tooltip = model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert str(images[5]) in tooltip and "failed" in tooltip and "cannot decode" in tooltip
    assert model.row_of(images[3]) == 3 and model.row_of(Path("/elsewhere.jpg")) is None
    assert model.paths() == images
    assert model.item(2) is items[2]
    with pytest.raises(IndexError):
        model.item(-1)
    loader.wait_for_done()


def test_library_status_enum_is_accepted() -> None:
    from desktop_app.library.models import Status

    model = MediaListModel()
    item = MediaItem(Path("/x/a.jpg"), "a.jpg", status=Status.DONE)  # type: ignore[arg-type]
    model.set_items([item])
    assert model.item(0).status == "done" and type(model.item(0).status) is str
    assert model.update_item("/x/a.jpg", status=Status.EDITED)
    assert model.item(0).status == "edited"
    with pytest.raises(ValueError):
        model.update_item("/x/a.jpg", status="bogus")
    with pytest.raises(TypeError):
        model.update_item("/x/a.jpg", path=Path("/y.jpg"))


def test_update_item_signals_one_row_with_the_roles_changed(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(10))
    seen: list[tuple[int, int, list[int]]] = []
    model.dataChanged.connect(lambda a, b, roles: seen.append((a.row(), b.row(), list(roles))))

    assert model.update_item("/nowhere/img4.jpg", caption="changed", status="failed")
    assert len(seen) == 1
    top, bottom, roles = seen[0]
    assert (top, bottom) == (4, 4)
    assert {int(Roles.CaptionRole), int(Roles.StatusRole)} <= set(roles)
    assert int(Roles.LiveTextRole) not in roles and DECORATION not in roles

    assert not model.update_item("/nowhere/img4.jpg", caption="changed")  # no change, no signal
    assert not model.update_item("/nowhere/missing.jpg", caption="x")
    assert len(seen) == 1


def test_live_text_is_coalesced(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(10))
    rows: list[int] = []
    model.dataChanged.connect(lambda a, b, roles: rows.append(a.row()))
    with qtbot.waitSignal(model.dataChanged, timeout=2000):
        for n in range(50):
            model.set_live_text("/nowhere/img1.jpg", "token " * n)
            model.set_live_text("/nowhere/img2.jpg", "word " * n)
    qtbot.wait(60)
    assert sorted(rows) == [1, 2]  # fifty updates each, one signal each
    assert model.item(1).live_text == "token " * 49
    assert model.data(model.index(2, 0), Roles.LiveTextRole) == "word " * 49


def test_data_never_touches_the_disk(qtbot, monkeypatch, loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    model.set_items(items_for(images))
    main = threading.get_ident()
    touched: list[str] = []

    def guard(name, real):  # noqa: ANN001, ANN202
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if threading.get_ident() == main:
                touched.append(name)
                raise AssertionError(f"{name} called in the GUI thread")
            return real(*args, **kwargs)
        return wrapper

    with monkeypatch.context() as patch:
        for owner, name in [(builtins, "open"), (io, "open"), (os, "stat"), (os, "scandir"),
                            (os.path, "exists"), (os.path, "getmtime"), (Image, "open")]:
            patch.setattr(owner, name, guard(name, getattr(owner, name)))
        first = [model.data(model.index(r, 0), role) for r in range(len(images))
                 for role in ALL_ROLES]
    assert touched == []
    placeholder = loader.placeholder_pixmap().cacheKey()
    decorations = first[1::len(ALL_ROLES)]
    assert all(isinstance(p, QPixmap) and p.cacheKey() == placeholder for p in decorations)

    with qtbot.waitSignal(loader.thumbnail_ready, timeout=10_000,
                          check_params_cb=lambda key: key == str(images[3])):
        pass
    wait_thumbnails(qtbot, loader, images)
    pixmap = model.data(model.index(3, 0), DECORATION)
    assert pixmap.cacheKey() != placeholder
    assert (pixmap.width(), pixmap.height()) == (70, 45)  # smaller than the thumb size: kept


def test_decoration_change_is_signalled_for_its_row(qtbot, loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    model.set_items(items_for(images))
    model.data(model.index(2, 0), DECORATION)
    with qtbot.waitSignal(model.dataChanged, timeout=10_000) as blocker:
        pass
    top, bottom, roles = blocker.args
    assert top.row() == bottom.row() == 2 and list(roles) == [DECORATION]


# -- thumbnail loader ---------------------------------------------------------------------


def test_thumbnails_are_decoded_in_workers_and_pixmaps_made_in_the_gui_thread(
        qtbot, monkeypatch, loader, images) -> None:  # noqa: ANN001
    decode_threads: set[int] = set()
    pixmap_threads: set[int] = set()
    real_decode, real_pixmap = thumbnails.decode_image, thumbnails.image_to_pixmap

    def decode(path: str, size: int) -> Image.Image:
        decode_threads.add(threading.get_ident())
        return real_decode(path, size)

    def to_pixmap(image: QImage) -> QPixmap:
        pixmap_threads.add(threading.get_ident())
        return real_pixmap(image)

    monkeypatch.setattr(thumbnails, "decode_image", decode)
    monkeypatch.setattr(thumbnails, "image_to_pixmap", to_pixmap)
    for path in images:
        loader.request(path)
    wait_thumbnails(qtbot, loader, images)
    main = threading.get_ident()
    assert decode_threads and main not in decode_threads
    assert pixmap_threads == {main}


def test_disk_cache_serves_a_second_loader_without_decoding(
        qtbot, monkeypatch, loader_factory, images, tmp_path) -> None:  # noqa: ANN001
    decoded: list[str] = []
    real_decode = thumbnails.decode_image
    monkeypatch.setattr(thumbnails, "decode_image",
                        lambda path, size: decoded.append(path) or real_decode(path, size))
    first = loader_factory()
    first.request(images[0])
    wait_thumbnails(qtbot, first, images[:1])
    assert decoded == [str(images[0])]
    st = images[0].stat()
    cached = tmp_path / "thumbs" / cache_file_name(str(images[0]), st.st_size, st.st_mtime_ns,
                                                   first.thumb_size)
    assert cached.is_file()
    assert not [p for p in cached.parent.iterdir() if p.name.endswith(".tmp")]

    second = loader_factory()
    second.request(images[0])
    wait_thumbnails(qtbot, second, images[:1])
    assert decoded == [str(images[0])]  # no second decode
    again = second.pixmap(images[0])
    assert (again.width(), again.height()) == (first.pixmap(images[0]).width(),
                                               first.pixmap(images[0]).height())
    assert again.cacheKey() != second.broken_pixmap().cacheKey()

    # A new modification time is a new version of the file: decoded again.
    os.utime(images[0], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    third = loader_factory()
    third.request(images[0])
    wait_thumbnails(qtbot, third, images[:1])
    assert decoded == [str(images[0])] * 2


def test_a_corrupt_cache_file_is_remade(qtbot, loader_factory, images, tmp_path) -> None:  # noqa: ANN001
    first = loader_factory()
    first.request(images[1])
    wait_thumbnails(qtbot, first, images[1:2])
    for file in (tmp_path / "thumbs").rglob("*.thumb"):
        file.write_bytes(b"not an image")
    second = loader_factory()
    second.request(images[1])
    wait_thumbnails(qtbot, second, images[1:2])
    assert second.pixmap(images[1]).cacheKey() != second.broken_pixmap().cacheKey()


def test_broken_missing_and_video_files_get_placeholders(qtbot, loader, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    missing = tmp_path / "gone.webp"
    video = tmp_path / "clip.MP4"
    for path in (bad, empty, missing, video):
        loader.request(path)
    wait_thumbnails(qtbot, loader, [bad, empty, missing, video])
    broken = loader.broken_pixmap().cacheKey()
    assert all(loader.pixmap(p).cacheKey() == broken for p in (bad, empty, missing, video))
    assert all(loader.error(p) for p in (bad, empty, missing, video))  # each keeps its reason
    assert loader.duration(video) is None
    assert not loader.is_pending(video)


@pytest.mark.parametrize("mode,fmt", [("RGBA", "PNG"), ("LA", "PNG"), ("P", "PNG"),
                                      ("L", "JPEG"), ("CMYK", "JPEG"), ("I;16", "PNG"),
                                      ("1", "BMP"), ("RGB", "WEBP"), ("RGB", "GIF")])
def test_any_image_mode_becomes_rgb_or_rgba(mode, fmt, tmp_path) -> None:  # noqa: ANN001
    color = {"RGBA": (10, 20, 30, 40), "CMYK": (10, 20, 30, 40), "LA": (10, 40)}.get(
        mode, (10, 20, 30))
    path = make_image(tmp_path / f"x.{fmt.lower()}", (300, 200), color, mode=mode, fmt=fmt)
    im = thumbnails.decode_image(str(path), 128)
    assert im.mode in ("RGB", "RGBA") and max(im.size) == 128
    image = thumbnails.pil_to_qimage(im)
    assert not image.isNull() and (image.width(), image.height()) == im.size
    assert image.hasAlphaChannel() == (im.mode == "RGBA")


def test_exif_orientation_is_applied_and_jpegs_decode_at_thumbnail_size(tmp_path) -> None:
    path = make_image(tmp_path / "rotated.jpg", (400, 200), orientation=6)
    im = thumbnails.decode_image(str(path), 100)
    assert im.size == (50, 100)  # 400x200 turned a quarter: portrait
    big = make_image(tmp_path / "big.jpg", (2400, 1600))
    assert thumbnails.decode_image(str(big), 256).size == (256, 171)


def test_clear_drops_queued_work_and_late_results(qtbot, monkeypatch, loader_factory, images) -> None:  # noqa: ANN001
    started, release = threading.Event(), threading.Event()
    real_decode = thumbnails.decode_image

    def slow_decode(path: str, size: int) -> Image.Image:
        started.set()
        release.wait(10)
        return real_decode(path, size)

    monkeypatch.setattr(thumbnails, "decode_image", slow_decode)
    loader = loader_factory(max_threads=1, cache_dir=False)
    emitted: list[str] = []
    loader.thumbnail_ready.connect(emitted.append)
    for path in images:
        loader.request(path)
    assert started.wait(10)
    loader.clear()  # one job is running, five are queued
    release.set()
    assert loader.wait_for_done(10_000)
    qtbot.wait(100)  # let the late result's queued signal arrive
    assert emitted == []
    assert all(loader.pixmap(p) is None for p in images)
    assert loader.cached_count() == 0

    loader.request(images[0])  # the loader works on after a clear
    wait_thumbnails(qtbot, loader, images[:1])
    assert emitted == [str(images[0])]


def test_requests_are_deduplicated_and_the_latest_go_first(qtbot, monkeypatch, loader_factory, images) -> None:  # noqa: ANN001
    started, release = threading.Event(), threading.Event()
    order: list[str] = []
    real_decode = thumbnails.decode_image

    def recording_decode(path: str, size: int) -> Image.Image:
        order.append(Path(path).name)
        started.set()
        release.wait(10)
        return real_decode(path, size)

    monkeypatch.setattr(thumbnails, "decode_image", recording_decode)
    loader = loader_factory(max_threads=1, cache_dir=False)
    loader.request(images[0])
    assert started.wait(10)  # the single worker is busy with img0
    for path in images[1:4]:
        loader.request(path)
    loader.request(images[1])  # shown again: it jumps the queue
    loader.request(images[2])
    loader.request(images[0])  # running: not queued twice
    release.set()
    wait_thumbnails(qtbot, loader, images[:4])
    assert order == ["img0.jpg", "img2.jpg", "img1.jpg", "img3.jpg"]


def test_pending_requests_are_bounded(qtbot, monkeypatch, loader_factory, images) -> None:  # noqa: ANN001
    started, release = threading.Event(), threading.Event()
    real_decode = thumbnails.decode_image

    def slow_decode(path: str, size: int) -> Image.Image:
        started.set()
        release.wait(10)
        return real_decode(path, size)

    monkeypatch.setattr(thumbnails, "decode_image", slow_decode)
    loader = loader_factory(max_threads=1, max_pending=2, cache_dir=False)
    loader.request(images[0])
    assert started.wait(10)
    for path in images[1:]:
        loader.request(path)
    assert [loader.is_pending(p) for p in images[1:]] == [False, False, False, True, True]
    release.set()
    wait_thumbnails(qtbot, loader, [images[0], images[4], images[5]])
    assert loader.wait_for_done(10_000)
    assert all(loader.pixmap(p) is None for p in images[1:4])  # dropped, asked again when shown


def test_memory_cache_is_a_bounded_lru(qtbot, loader_factory, images) -> None:  # noqa: ANN001
    loader = loader_factory(max_items=3)
    for path in images[:3]:
        loader.request(path)
    wait_thumbnails(qtbot, loader, images[:3])
    assert loader.pixmap(images[0]) is not None  # touched: 0 and 2 are now the most recent
    assert loader.pixmap(images[2]) is not None
    loader.request(images[3])
    wait_thumbnails(qtbot, loader, images[3:4])
    assert loader.cached_count() == 3
    assert loader.pixmap(images[1]) is None  # the least recently used went
    assert loader.pixmap(images[0]) is not None


def test_set_items_clears_the_loader(qtbot, loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    model.set_items(items_for(images))
    loader.request(images[0])
    wait_thumbnails(qtbot, loader, images[:1])
    model.set_items(items_for(images[1:]))
    assert loader.cached_count() == 0


def test_changing_a_files_mtime_in_the_model_drops_its_pixmap(qtbot, loader, images) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    model.set_items(items_for(images))
    loader.request(images[0])
    wait_thumbnails(qtbot, loader, images[:1])
    assert model.update_item(images[0], mtime=12345.0)
    assert loader.pixmap(images[0]) is None


# -- filter proxy -------------------------------------------------------------------------


@pytest.mark.parametrize("name,expected", [
    ("all", list(range(12))),
    ("uncaptioned", [0, 5, 6, 11]),
    ("failed", [5, 11]),
    ("edited", [4, 10]),
    ("done", [3, 9]),
    ("truncated", [0, 5, 10]),
])
def test_status_filters(name, expected) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(12))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter(name)
    assert proxy_names(proxy) == [f"img{i}.jpg" for i in expected]
    assert proxy.status_filter() == name


def test_custom_status_set_and_unknown_filter() -> None:
    model = MediaListModel()
    model.set_items(fake_items(12))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter({"queued", "generating"})
    assert proxy_names(proxy) == ["img1.jpg", "img2.jpg", "img7.jpg", "img8.jpg"]
    with pytest.raises(ValueError):
        proxy.set_status_filter("nonsense")
    with pytest.raises(ValueError):
        proxy.set_status_filter({"nonsense"})


def test_text_filter_matches_name_or_caption_in_any_case() -> None:
    model = MediaListModel()
    model.set_items(fake_items(12))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text_filter("cAt")  # captions of even rows say CAT
    assert proxy_names(proxy) == [f"img{i}.jpg" for i in range(0, 12, 2)]
    proxy.set_text_filter("IMG1")  # file names img1, img10, img11
    assert proxy_names(proxy) == ["img1.jpg", "img10.jpg", "img11.jpg"]
    proxy.set_status_filter("failed")  # both filters at once: img11 only (5 and 11 failed)
    assert proxy_names(proxy) == ["img11.jpg"]
    proxy.set_text_filter("")
    proxy.set_status_filter("all")
    assert proxy.rowCount() == 12


def test_filter_follows_updates(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(12))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter("uncaptioned")
    assert "img0.jpg" in proxy_names(proxy)
    model.update_item("/nowhere/img0.jpg", status="done", caption="ok")
    assert "img0.jpg" not in proxy_names(proxy)
    model.update_item("/nowhere/img3.jpg", status="failed")
    assert "img3.jpg" in proxy_names(proxy)


def test_fragmented_filter_changes_give_the_same_rows(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(3000))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    resets: list[int] = []
    proxy.modelReset.connect(lambda: resets.append(1))
    proxy.set_text_filter("dog")  # every other row: 1500 ranges, done as one reset
    assert resets and proxy.rowCount() == 1500
    assert proxy_names(proxy)[:3] == ["img1.jpg", "img3.jpg", "img5.jpg"]
    proxy.set_text_filter("")  # fragmented again: a reset
    assert proxy.rowCount() == 3000
    resets.clear()
    proxy.set_text_filter("img29")  # one contiguous block plus a few: incremental
    assert not resets
    assert proxy_names(proxy)[:2] == ["img29.jpg", "img290.jpg"]
    assert proxy.rowCount() == 1 + 10 + 100  # img29, img290-299, img2900-2999


def test_sorting_is_natural_and_keeps_the_selection(qtbot) -> None:  # noqa: ANN001
    names = ["img10.jpg", "IMG2.jpg", "img1.jpg", "sub/img3.jpg", "img20.jpg", "sub2/a.jpg"]
    items = [MediaItem(Path("/r") / n, n, mtime=float(i)) for i, n in enumerate(names)]
    model = MediaListModel()
    model.set_items(items)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    view = ThumbnailGrid()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.selectionModel().select(proxy.index(0, 0), QItemSelectionModel.SelectionFlag.Select)

    proxy.set_sort("name")
    assert [item.rel for item in model.items()] == [
        "img1.jpg", "IMG2.jpg", "img10.jpg", "img20.jpg", "sub/img3.jpg", "sub2/a.jpg"]
    assert model.row_of("/r/img10.jpg") == 2
    assert view.selected_paths() == [Path("/r/img10.jpg")]
    proxy.set_sort("name", descending=True)
    assert model.items()[0].rel == "sub2/a.jpg"
    proxy.set_sort("mtime")
    assert [item.rel for item in model.items()] == names
    proxy.sort(0, Qt.SortOrder.AscendingOrder)  # Qt's entry point sorts by name
    assert model.items()[0].rel == "img1.jpg"
    with pytest.raises(ValueError):
        model.sort_by("size")


# -- grid and delegate --------------------------------------------------------------------


def test_grid_paints_every_status(qtbot, loader, images, tmp_path) -> None:  # noqa: ANN001
    model = MediaListModel(loader)
    items = items_for(images)
    items[2].status, items[2].live_text = "generating", "a cat sitting on a " * 10
    items[3].caption = "A very long caption " * 30
    model.set_items(items)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(proxy)
    grid.resize(900, 500)
    grid.show()
    qtbot.waitExposed(grid)
    placeholder_shot = grid.grab().toImage()
    wait_thumbnails(qtbot, loader, images)
    qtbot.wait(50)
    grid.selectionModel().select(proxy.index(1, 0), QItemSelectionModel.SelectionFlag.Select)
    shot = grid.grab()
    assert not shot.isNull() and shot.width() == 900
    image = shot.toImage()
    assert image != placeholder_shot  # thumbnails replaced the placeholders
    assert len({image.pixel(x, y) for x in range(0, 900, 7) for y in range(0, 200, 7)}) > 20
    shot.save(str(tmp_path / "grid.png"))
    statuses_seen = {proxy.index(r, 0).data(Roles.StatusRole) for r in range(proxy.rowCount())}
    assert statuses_seen == set(STATUS_STYLE)


def test_delegate_paints_without_a_pixmap_or_caption(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()  # no loader: no decoration at all
    model.set_items([MediaItem(Path(f"/x/{s}.jpg"), f"{s}.jpg", status=s) for s in STATUSES])
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(model)
    grid.resize(700, 400)
    grid.show()
    qtbot.waitExposed(grid)
    assert not grid.grab().isNull()


def test_selection_and_activation_signals_give_paths(qtbot, images) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(items_for(images))
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(proxy)
    grid.resize(600, 400)
    grid.show()
    qtbot.waitExposed(grid)
    selection = grid.selectionModel()
    with qtbot.waitSignal(grid.selection_changed, timeout=2000) as blocker:
        selection.select(proxy.index(4, 0), QItemSelectionModel.SelectionFlag.Select)
        selection.select(proxy.index(1, 0), QItemSelectionModel.SelectionFlag.Select)
    assert blocker.args == [[images[1], images[4]]]  # one signal for both, in view order

    with qtbot.waitSignal(grid.activated_path, timeout=2000) as blocker:
        grid.activated.emit(proxy.index(2, 0))
    assert blocker.args == [images[2]]

    grid.setFocus()
    grid.setCurrentIndex(proxy.index(0, 0))
    with qtbot.waitSignal(grid.current_path_changed, timeout=2000) as blocker:
        qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert blocker.args == [images[1]]
    assert grid.current_path() == images[1]


@pytest.mark.parametrize("count", [50, 5000])
def test_selected_paths_through_a_filter(qtbot, count) -> None:  # noqa: ANN001
    model = MediaListModel()
    items = fake_items(count)
    model.set_items(items)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter("uncaptioned")
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(proxy)
    with qtbot.waitSignal(grid.selection_changed, timeout=2000) as blocker:
        grid.selectAll()
    expected = [item.path for item in items if item.status in ("pending", "failed")]
    assert blocker.args == [expected]
    grid.selectionModel().select(proxy.index(1, 0), QItemSelectionModel.SelectionFlag.Deselect)
    assert grid.selected_paths() == expected[:1] + expected[2:]


def test_zoom_changes_the_tile_size(qtbot) -> None:  # noqa: ANN001
    model = MediaListModel()
    model.set_items(fake_items(30))
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(model)
    grid.resize(800, 600)
    grid.show()
    qtbot.waitExposed(grid)
    before = grid.visualRect(model.index(0, 0)).width()
    with qtbot.waitSignal(grid.tile_size_changed, timeout=1000):
        grid.set_tile_size(260)
    qtbot.waitUntil(lambda: grid.visualRect(model.index(0, 0)).width() == 260, timeout=2000)
    assert before == 168
    assert grid.delegate().sizeHint(None, QModelIndex()).width() == 260
    grid.set_tile_size(10_000)
    assert grid.tile_size() == 480


def test_caption_wrap_uses_two_elided_lines(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QFontMetrics

    from desktop_app.ui.grid import _wrap

    delegate = TileDelegate()
    fm = QFontMetrics(delegate._caption_font)
    lines = _wrap(fm, "word " * 200, 120, 2)
    assert len(lines) == 2 and all(fm.horizontalAdvance(line) <= 120 for line in lines)
    assert _wrap(fm, "short", 120, 2) == ["short"]
    assert _wrap(fm, "", 120, 2) == []


# -- scale --------------------------------------------------------------------------------


def test_100k_items_set_and_filter_quickly(qtbot) -> None:  # noqa: ANN001
    items = fake_items(100_000)
    model = MediaListModel()
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    grid = ThumbnailGrid()
    qtbot.addWidget(grid)
    grid.setModel(proxy)
    grid.resize(800, 600)
    grid.show()
    start = time.perf_counter()
    model.set_items(items)
    assert proxy.rowCount() == 100_000
    assert model.row_of(items[-1].path) == 99_999  # before the background indexing ended
    assert model.row_of("/nowhere/none.jpg") is None
    proxy.set_status_filter("uncaptioned")
    assert proxy.rowCount() == 100_000 // 3
    proxy.set_text_filter("dog")
    assert proxy.rowCount() == 100_000 // 6  # pending (even) rows say CAT, failed (odd) say dog
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"100k items: set_items + filters took {elapsed:.2f} s"
