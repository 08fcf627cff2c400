"""What each dialect accepts as an input image, from the limits in API.md ("Images in")."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class ImageLimits:
    """One dialect's rules for an input image.

    ``min_side`` and ``max_side`` bound both sides (a vendor's "≥300×300" means width and
    height are each at least 300), measured after EXIF orientation is applied.
    """

    max_bytes: int
    min_side: int
    max_side: int | None
    formats: frozenset[str] | None  # Pillow format names allowed; None = any format decode() reads
    keep_alpha: bool = False


GLASSES = ImageLimits(
    max_bytes=10 * MB,
    min_side=300,
    max_side=None,
    formats=frozenset({"JPEG", "PNG"}),
    keep_alpha=True,  # a frame cut-out's transparency is the frame's shape
)
PIXELCUT = ImageLimits(max_bytes=25 * MB, min_side=256, max_side=1920, formats=None)
RVTON = ImageLimits(max_bytes=25 * MB, min_side=256, max_side=4096, formats=None)
FASHN = RVTON
