"""Draw the integration's brand images into custom_components/charge_zones/brand/.

Run: .venv/bin/python scripts/brand.py  (Pillow comes with Home Assistant in .venv)

Home Assistant (2026.3 and later) serves a custom integration's own brand/ images on
its integrations page and in its dialogs; HACS shows them too. As the brands rules ask:
PNG, transparent background, trimmed (the drawing reaches the edges);
icon.png 256x256 and icon@2x.png 512x512 (square); logo.png with its shortest side
128 px and logo@2x.png 256 px (landscape: the icon and the name); dark_logo*.png the
same for dark themes (light lettering).

The icon: a plug (two pins, body, cable) with a lightning bolt, inside a zone: a
rounded square like the front of a breaker panel, its rail the cable runs down to.
Drawn at 8x and scaled down, for smooth edges. Change the colours or shapes below and
run the script again; commit the PNGs it writes.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[1] / "custom_components/charge_zones/brand"
ZONE = (14, 116, 144, 255)  # the zone: teal blue
PLUG = (255, 255, 255, 255)  # the plug: white on the zone
BOLT = (250, 204, 21, 255)  # the bolt: amber
INK = (31, 41, 55, 255)  # the name on light themes
INK_DARK = (243, 244, 246, 255)  # the name on dark themes
SCALE = 8


def icon(size: int) -> Image.Image:
    """The square icon, `size` pixels wide, transparent outside the zone."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """A box in units of the icon's width (0..1)."""
        return (round(x0 * big), round(y0 * big), round(x1 * big), round(y1 * big))

    # The zone: a rounded square filling the canvas (trimmed), with a rail along its
    # bottom (the breaker panel's DIN rail) the cable runs down to.
    draw.rounded_rectangle(box(0, 0, 1, 1), radius=round(0.2 * big), fill=ZONE)
    draw.rounded_rectangle(box(0.16, 0.80, 0.84, 0.86), radius=round(0.03 * big), fill=PLUG)
    # The plug: two pins, the body, and the cable down to the rail.
    for x in (0.36, 0.58):
        draw.rounded_rectangle(box(x, 0.12, x + 0.06, 0.32), radius=round(0.03 * big), fill=PLUG)
    draw.rounded_rectangle(box(0.26, 0.28, 0.74, 0.62), radius=round(0.1 * big), fill=PLUG)
    draw.rectangle(box(0.46, 0.60, 0.54, 0.81), fill=PLUG)
    # The lightning bolt on the plug's body.
    bolt = [(0.53, 0.32), (0.41, 0.47), (0.49, 0.47), (0.45, 0.58), (0.59, 0.42),
            (0.51, 0.42), (0.55, 0.32)]
    draw.polygon([(round(x * big), round(y * big)) for x, y in bolt], fill=BOLT)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int, ink: tuple[int, int, int, int]) -> Image.Image:
    """The icon and the name beside it, `height` pixels high, trimmed."""
    mark = icon(height)
    font = ImageFont.load_default(size=round(height * 0.42))
    text = "Charge Zones"
    left, top, right, bottom = font.getbbox(text)
    gap = round(height * 0.18)
    image = Image.new("RGBA", (height + gap + right - left, height), (0, 0, 0, 0))
    image.paste(mark, (0, 0), mark)
    draw = ImageDraw.Draw(image)
    draw.text((height + gap - left, (height - (bottom - top)) // 2 - top), text, font=font,
              fill=ink)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    images = {
        "icon.png": icon(256),
        "icon@2x.png": icon(512),
        "logo.png": logo(128, INK),
        "logo@2x.png": logo(256, INK),
        "dark_logo.png": logo(128, INK_DARK),
        "dark_logo@2x.png": logo(256, INK_DARK),
    }
    for name, image in images.items():
        image.save(OUT / name, optimize=True)
        print(f"{OUT / name}: {image.width}x{image.height}")


if __name__ == "__main__":
    main()
