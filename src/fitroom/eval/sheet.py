"""Contact sheets: rows of images side by side in one PNG, each cell captioned.

A sheet is how a person checks a try-on: numbers can pass while the picture is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CELL_HEIGHT = 256
CAPTION_HEIGHT = 16
BACKGROUND = (255, 255, 255)


def _cell(image: np.ndarray | Image.Image, height: int) -> Image.Image:
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    if pil.mode == "RGBA":  # show transparency against a checkerboard-free light grey
        flat = Image.new("RGB", pil.size, (230, 230, 230))
        flat.paste(pil, mask=pil.getchannel("A"))
        pil = flat
    pil = pil.convert("RGB")
    width = max(1, round(pil.width * height / pil.height))
    return pil.resize((width, height), Image.Resampling.LANCZOS)


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray | Image.Image]],
    captions: Sequence[Sequence[str]] | None = None,
    *,
    cell_height: int = CELL_HEIGHT,
) -> Image.Image:
    """One image with ``rows`` laid out top to bottom, each row's images left to right."""
    rendered: list[Image.Image] = []
    for r, row in enumerate(rows):
        cells = [_cell(img, cell_height) for img in row]
        width = sum(c.width for c in cells) + 4 * (len(cells) - 1)
        strip = Image.new("RGB", (max(width, 1), cell_height + CAPTION_HEIGHT), BACKGROUND)
        draw = ImageDraw.Draw(strip)
        x = 0
        for c, cell in enumerate(cells):
            strip.paste(cell, (x, 0))
            if captions and r < len(captions) and c < len(captions[r]):
                draw.text((x + 2, cell_height + 2), captions[r][c][:60], fill=(0, 0, 0))
            x += cell.width + 4
        rendered.append(strip)
    width = max((s.width for s in rendered), default=1)
    height = sum(s.height for s in rendered) + 4 * max(len(rendered) - 1, 0)
    sheet = Image.new("RGB", (width, max(height, 1)), BACKGROUND)
    y = 0
    for strip in rendered:
        sheet.paste(strip, (0, y))
        y += strip.height + 4
    return sheet


def save_contact_sheet(path: Path, rows, captions=None, *, cell_height: int = CELL_HEIGHT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(rows, captions, cell_height=cell_height).save(path, optimize=True)
    return path
