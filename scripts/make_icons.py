"""Draw the app's icons into static/img/ (run once after changing the design; the files are committed).

One shape, a flag on a pole, as SVG (the favicon of every page), PNGs for home screens and the
door scanner's manifest, and favicon.ico for clients that ask for /favicon.ico.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "img"
BACKGROUND, FLAG = "#102a43", "#f0b429"
#: In a 512 x 512 box: the pole, and the flag's outline (a swallowtail).
POLE = (150, 96, 178, 420)
FLAG_POINTS = [(178, 112), (392, 112), (336, 188), (392, 264), (178, 264)]


def svg() -> str:
    points = " ".join(f"{x},{y}" for x, y in FLAG_POINTS)
    x0, y0, x1, y1 = POLE
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
            f'<rect width="512" height="512" rx="96" fill="{BACKGROUND}"/>'
            f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="8" fill="#ffffff"/>'
            f'<polygon points="{points}" fill="{FLAG}"/></svg>\n')


def png(size: int, *, maskable: bool = False) -> Image.Image:
    scale = 4  # draw large, then shrink: smooth edges
    big = 512 * scale
    img = Image.new("RGBA", (big, big), BACKGROUND if maskable else (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    if not maskable:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=96 * scale, fill=BACKGROUND)
    # A maskable icon keeps its drawing inside the middle 80% (the platform crops the rest).
    shrink, shift = (0.8, 0.1 * big) if maskable else (1.0, 0.0)

    def at(x, y):
        return (x * scale * shrink + shift, y * scale * shrink + shift)

    x0, y0, x1, y1 = POLE
    draw.rounded_rectangle((*at(x0, y0), *at(x1, y1)), radius=8 * scale, fill="#ffffff")
    draw.polygon([at(x, y) for x, y in FLAG_POINTS], fill=FLAG)
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.svg").write_text(svg())
    for size in (192, 512):
        png(size).save(OUT / f"icon-{size}.png", optimize=True)
    png(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    png(180).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    png(48).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
