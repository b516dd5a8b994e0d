"""Generate Caption Studio's icons at build time (no binary file is committed).

    python resources/make_icons.py [OUT_DIR]        # default: build/icons

Writes into OUT_DIR:
- app-icon.svg (a copy of resources/app-icon.svg, the committed source of the drawing),
- app-icon-{16,24,32,48,64,128,256,512,1024}.png, drawn with Pillow from the same geometry,
- app-icon.ico (16-256 px, Windows) and app-icon.icns (32-1024 px, macOS),
- toolbar/<name>.svg, the toolbar icons the app draws at run time (desktop_app/ui/style.py),
  exported for packagers and docs (skipped with a note when PySide6 is not importable).

The drawing is the one of `desktop_app.ui.style._draw_app_icon` (a 64-unit grid: a gradient
tile, a white caption bubble with a tail, two caption lines). `build_installer.spec` runs this
script before it collects the icons.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

HERE = Path(__file__).resolve().parent
SVG_SOURCE = HERE / "app-icon.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
MASTER = 1024  # every PNG is downscaled from this one
SUPERSAMPLE = 4  # the master is drawn at 4x and downscaled (anti-aliasing)

# -- the drawing, in the 64-unit grid of style._draw_app_icon and app-icon.svg -------------------
GRADIENT = ("#7f9bff", "#8a5cf6")  # top-left -> bottom-right
TILE = (2, 2, 62, 62, 14)  # x0, y0, x1, y1, corner radius
BUBBLE = (13, 15, 51, 41, 7)
TAIL = ((20, 39), (18, 50), (30, 40))
BUBBLE_ALPHA = 240
LINE_COLOUR = "#6f74f0"
LINE_WIDTH = 3.2
LINES = (((20, 24), (44, 24)), ((20, 32), (36, 32)))


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def draw_app_icon(size: int = MASTER) -> Image.Image:
    """The app icon as an RGBA image of `size` x `size` pixels."""
    big = size * SUPERSAMPLE
    s = big / 64.0

    # Diagonal gradient: t = (x + y) / 2, from a horizontal and a vertical ramp.
    vertical = Image.linear_gradient("L").resize((big, big))
    horizontal = vertical.transpose(Image.Transpose.ROTATE_90)  # dark on the left
    ramp = ImageChops.add(horizontal, vertical, scale=2.0)
    start, end = (Image.new("RGB", (big, big), _rgb(c)) for c in GRADIENT)
    tile = Image.composite(end, start, ramp).convert("RGBA")
    shape = Image.new("L", (big, big), 0)
    x0, y0, x1, y1, r = TILE
    ImageDraw.Draw(shape).rounded_rectangle((x0 * s, y0 * s, x1 * s, y1 * s), radius=r * s, fill=255)
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    icon.paste(tile, (0, 0), shape)

    # The bubble and its tail: one shape (no double alpha where they overlap).
    bubble = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(bubble)
    x0, y0, x1, y1, r = BUBBLE
    pen.rounded_rectangle((x0 * s, y0 * s, x1 * s, y1 * s), radius=r * s, fill=BUBBLE_ALPHA)
    pen.polygon([(x * s, y * s) for x, y in TAIL], fill=BUBBLE_ALPHA)
    icon.alpha_composite(Image.merge("RGBA", (*Image.new("RGB", (big, big), "white").split(), bubble)))

    # Two caption lines with round caps.
    pen = ImageDraw.Draw(icon)
    width = LINE_WIDTH * s
    for (ax, ay), (bx, by) in LINES:
        pen.line((ax * s, ay * s, bx * s, by * s), fill=LINE_COLOUR, width=round(width))
        for cx, cy in ((ax, ay), (bx, by)):
            pen.ellipse((cx * s - width / 2, cy * s - width / 2, cx * s + width / 2, cy * s + width / 2),
                        fill=LINE_COLOUR)
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def write_toolbar_svgs(out: Path) -> list[Path]:
    """The toolbar icons of desktop_app/ui/style.py as SVG files (empty when Qt is missing)."""
    sys.path.insert(0, str(HERE.parent))
    try:
        from desktop_app.ui import style
    except ImportError as exc:
        print(f"make_icons: toolbar icons skipped ({exc})", file=sys.stderr)
        return []
    finally:
        sys.path.pop(0)
    folder = out / "toolbar"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(style._ICONS):  # noqa: SLF001 - the icon table is the single source
        path = folder / f"{name}.svg"
        path.write_text(style.svg(name, style.TEXT), encoding="utf-8")
        written.append(path)
    return written


def make_icons(out_dir: str | Path, toolbar: bool = True) -> dict[str, Path]:
    """Write every icon file into `out_dir`; returns {kind: path} for the main files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    master = draw_app_icon(MASTER)
    files: dict[str, Path] = {"svg": out / "app-icon.svg", "ico": out / "app-icon.ico",
                              "icns": out / "app-icon.icns"}
    shutil.copyfile(SVG_SOURCE, files["svg"])
    images = {}
    for size in PNG_SIZES:
        image = master if size == MASTER else master.resize((size, size), Image.Resampling.LANCZOS)
        images[size] = image
        files[f"png{size}"] = out / f"app-icon-{size}.png"
        image.save(files[f"png{size}"], optimize=True)
    images[256].save(files["ico"], sizes=[(n, n) for n in ICO_SIZES],
                     append_images=[images[n] for n in ICO_SIZES if n != 256])
    master.save(files["icns"], append_images=[images[n] for n in (32, 64, 128, 256, 512)])
    if toolbar:
        write_toolbar_svgs(out)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate Caption Studio's icons (PNG, ICO, ICNS).")
    parser.add_argument("out_dir", nargs="?", default=str(HERE.parent / "build" / "icons"))
    parser.add_argument("--no-toolbar", action="store_true", help="skip the toolbar SVGs")
    args = parser.parse_args(argv)
    files = make_icons(args.out_dir, toolbar=not args.no_toolbar)
    print(f"make_icons: wrote {len(files)} icon files to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
