"""The playground's built-in example images, made here rather than shipped.

Everything we hand out must be ours to redistribute, so the garments and glasses are
drawn with Pillow (no licence question at all), and the one person is scikit-image's
``astronaut``: Eileen Collins, a NASA photograph in the public domain, which the
scikit-image wheel (already a dependency) ships. Drawing them on first request keeps
binary files out of the repository and lets a reviewer read exactly what they are.
The research photos of ../shared/testdata are never used here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw

# Drawn at this multiple of the final size and scaled down: Pillow draws polygons without
# anti-aliasing, and a jagged outline would make the garment cut-out look worse than it is.
_SUPERSAMPLE = 3


@dataclass(frozen=True)
class Example:
    name: str
    role: str  # "person", "garment" or "glasses": the drop zone it belongs to
    label: str
    note: str  # what it suits, or where it comes from
    draw: Callable[[], Image.Image]
    format: str  # "JPEG" for the photo, "PNG" where transparency or flat colour matters

    @property
    def media_type(self) -> str:
        return f"image/{self.format.lower()}"

    @property
    def filename(self) -> str:
        return f"{self.name}.{'jpg' if self.format == 'JPEG' else 'png'}"


def _astronaut() -> Image.Image:
    from skimage import data as skdata  # imported here: loading scikit-image takes a while

    return Image.fromarray(skdata.astronaut())


def _shirt_outline(scale: int, *, long_sleeves: bool) -> list[tuple[float, float]]:
    """A flat-lay top on a 512×512 canvas (times ``scale``): neckline, right sleeve, hem,
    and the right sleeve mirrored. The short-sleeved one is ``tests.helpers.garment_image``'s
    shape, which the CPU clothing engine is tested on."""
    neckline = [(176, 60), (216, 80), (256, 92), (296, 80), (336, 60)]
    if long_sleeves:
        right = [(440, 120), (500, 410), (452, 426), (362, 200)]
    else:
        right = [(450, 140), (400, 220), (360, 190)]
    hem = [(360, 470), (152, 470)]
    left = [(512 - x, y) for x, y in reversed(right)]
    return [(x * scale, y * scale) for x, y in (*neckline, *right, *hem, *left)]


def _shirt(
    fill: tuple[int, int, int],
    outline: tuple[int, int, int],
    *,
    stripes: tuple[int, int, int] | None = None,
    long_sleeves: bool = False,
) -> Image.Image:
    s = _SUPERSAMPLE
    size = (512 * s, 512 * s)
    shape = Image.new("L", size, 0)
    points = _shirt_outline(s, long_sleeves=long_sleeves)
    ImageDraw.Draw(shape).polygon(points, fill=255)
    cloth = Image.new("RGB", size, fill)
    if stripes is not None:
        draw = ImageDraw.Draw(cloth)
        for y in range(110 * s, 470 * s, 44 * s):
            draw.rectangle((0, y, size[0], y + 16 * s), fill=stripes)
    image = Image.new("RGB", size, "white")
    image.paste(cloth, mask=shape)
    edge = ImageDraw.Draw(image)
    edge.line([*points, points[0]], fill=outline, width=3 * s, joint="curve")
    # A collar band, so the neckline reads as one.
    edge.arc((216 * s, 40 * s, 296 * s, 104 * s), 20, 160, fill=outline, width=5 * s)
    return image.resize((512, 512), Image.Resampling.LANCZOS)


def _glasses(*, square: bool) -> Image.Image:
    """A frame on transparency (600×300), lenses tinted for sunglasses or near clear."""
    s = _SUPERSAMPLE
    image = Image.new("RGBA", (600 * s, 300 * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    frame = (120, 60, 20, 255) if square else (15, 15, 15, 255)
    lens = (30, 40, 50, 200) if square else (40, 40, 60, 80)
    for left in (60, 340):
        top, bottom = (80, 220) if square else (70, 230)
        box = (left * s, top * s, (left + 200) * s, bottom * s)
        inner = (box[0] + 8 * s, box[1] + 8 * s, box[2] - 8 * s, box[3] - 8 * s)
        if square:
            draw.rounded_rectangle(box, radius=30 * s, outline=frame, width=16 * s)
            draw.rounded_rectangle(inner, radius=24 * s, fill=lens)
        else:
            draw.ellipse(box, outline=frame, width=14 * s)
            draw.ellipse(inner, fill=lens)
    draw.line((260 * s, 130 * s, 340 * s, 130 * s), fill=frame, width=12 * s)  # bridge
    draw.line((60 * s, 120 * s, 0, 110 * s), fill=frame, width=10 * s)  # temples
    draw.line((540 * s, 120 * s, 600 * s, 110 * s), fill=frame, width=10 * s)
    return image.resize((600, 300), Image.Resampling.LANCZOS)


_TOP = "A drawn flat-lay top."
_FRAME = "Drawn, on transparency."

EXAMPLES: dict[str, Example] = {
    example.name: example
    for example in (
        Example(
            name="astronaut",
            role="person",
            label="Astronaut",
            note="Eileen Collins, a NASA photo in the public domain (shipped by scikit-image). "
            "Head and shoulders: for tops and glasses.",
            draw=_astronaut,
            format="JPEG",
        ),
        Example(
            name="red-tee",
            role="garment",
            label="Red T-shirt",
            note=_TOP,
            draw=lambda: _shirt((200, 30, 40), (120, 10, 20)),
            format="PNG",
        ),
        Example(
            name="striped-tee",
            role="garment",
            label="Striped T-shirt",
            note=_TOP,
            # Light blue, not white, stripes: white would read as the photo's background.
            draw=lambda: _shirt((25, 45, 95), (10, 20, 50), stripes=(170, 200, 235)),
            format="PNG",
        ),
        Example(
            name="green-longsleeve",
            role="garment",
            label="Green long sleeve",
            note=_TOP,
            draw=lambda: _shirt((40, 140, 80), (20, 80, 40), long_sleeves=True),
            format="PNG",
        ),
        Example(
            name="round-glasses",
            role="glasses",
            label="Round frames",
            note=_FRAME,
            draw=lambda: _glasses(square=False),
            format="PNG",
        ),
        Example(
            name="square-sunglasses",
            role="glasses",
            label="Square sunglasses",
            note=_FRAME,
            draw=lambda: _glasses(square=True),
            format="PNG",
        ),
    )
}


@cache
def example_bytes(name: str) -> bytes:
    """The encoded example ``name`` (a key of EXAMPLES), drawn once per process."""
    example = EXAMPLES[name]
    buffer = io.BytesIO()
    image = example.draw()
    if example.format == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=88, optimize=True)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def catalogue() -> list[dict[str, str]]:
    """What the page lists: every example's name, role, label, note and URL."""
    return [
        {"name": e.name, "role": e.role, "label": e.label, "note": e.note, "url": f"/playground/examples/{e.filename}"}
        for e in EXAMPLES.values()
    ]
