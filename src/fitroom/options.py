"""What a try-on asks for, in the words every layer shares.

The job kinds and the canonical options live here, below both ``jobs`` (which queues
them) and ``engines`` (which honour them), so that neither has to import the other.
Dialects translate their vendor's fields into these (see docs/api.md §7).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobKind(StrEnum):
    CLOTHING = "clothing"
    GLASSES = "glasses"
    BACKGROUND_REMOVE = "background_remove"
    REFRAME = "reframe"


class Region(StrEnum):
    """Which part of the body the garment replaces."""

    UPPER = "upper"
    LOWER = "lower"
    FULL = "full"  # dresses, one-pieces
    OUTERWEAR = "outerwear"  # worn over what the person already wears
    AUTO = "auto"


class PhotoType(StrEnum):
    FLAT_LAY = "flat_lay"
    WORN = "worn"
    AUTO = "auto"


class Effort(StrEnum):
    FAST = "fast"
    BALANCED = "balanced"
    QUALITY = "quality"


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"  # offline tools only: no dialect offers it


class TryOnOptions(BaseModel):
    """Canonical options an engine receives. Vendor-only knobs ride along in ``extras``
    so that the engine can report them as not applied instead of silently ignoring them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: Region = Region.AUTO
    photo_type: PhotoType = PhotoType.AUTO
    effort: Effort = Effort.BALANCED
    num_outputs: int = Field(1, ge=1, le=5)
    seed: int = Field(42, ge=0, le=2**32 - 1)
    output_format: OutputFormat = OutputFormat.PNG
    crop: bool = False
    mask_only: bool = False
    remove_background: bool = False
    preprocess_garment: bool = True
    garment_description: str = ""
    extras: dict[str, Any] = Field(default_factory=dict)
