"""The rules an input image must meet; each dialect declares its own (docs/api.md §1,
"Images in")."""

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
