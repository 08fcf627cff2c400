"""Background removal on the CPU (FASHN's ``background-remove``, Pixelcut's
``remove-background``): the subject cut out on transparency.

A photo with a person is cut along the same MediaPipe silhouette the clothing engine
uses; a photo without one (a product shot) along the backdrop the garment analysis
removes. ``crop`` trims the result to the subject, with ``margin`` around it.
"""

from __future__ import annotations

import re
import time

import cv2
import numpy as np

from fitroom.engines.base import Engine, EngineRequest, EngineResult, Input
from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.engines.registry import register
from fitroom.errors import InvalidParameter, NoGarmentFound
from fitroom.options import JobKind, TryOnOptions

# Options that mean something for a try-on but not for a cut-out.
_TRYON_ONLY = ("region", "photo_type", "effort", "mask_only", "remove_background", "preprocess_garment")
_MARGIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*$")
PRODUCT_SIDE = 1024  # product backdrops are found at most this large, then the mask is scaled up
MIN_SUBJECT_SHARE = 0.01


@register(default=True)
class CpuCutoutEngine(Engine):
    name = "cpu-cutout"
    kinds = frozenset({JobKind.BACKGROUND_REMOVE})
    inputs = (Input("image"),)

    def warm_up(self) -> None:
        persons.warm_up()

    def run(self, request: EngineRequest) -> EngineResult:
        if "image" not in request.images:
            raise InvalidParameter("background removal needs an image", field="image")
        start = time.perf_counter()
        options = request.options
        rgb = np.ascontiguousarray(request.images["image"][..., :3])
        analysis = persons.detect(rgb)
        if analysis is not None:
            # The model's soft mask is the alpha: hair and edges keep their partial cover.
            alpha = np.round(np.clip(analysis.mask, 0, 1) * 255).astype(np.uint8)
            subject = "person"
        else:
            alpha = _product_alpha(rgb)
            subject = "product"
        rgba = np.dstack([rgb, alpha])
        applied: dict[str, object] = {"output_format": options.output_format.value, "subject": subject}
        if options.crop:
            margin = _margin(str(options.extras.get("margin", "0")), alpha.shape)
            rgba = _crop(rgba, margin)
            applied.update(crop=True, margin_px=margin)
        defaults = TryOnOptions()
        not_applied = {
            key: "only used with crop" if key == "margin" else "not used by background removal"
            for key in options.extras
            if key != "margin" or not options.crop
        }
        not_applied.update(
            {
                key: "not used by background removal"
                for key in _TRYON_ONLY
                if getattr(options, key) != getattr(defaults, key)
            }
        )
        if options.num_outputs > 1:
            not_applied["num_outputs"] = "a cut-out has one result; one image is returned"
        return EngineResult(
            images=[rgba],
            metadata={
                "engine": self.name,
                "applied": applied,
                "not_applied": not_applied,
                "timings_ms": {"total": round((time.perf_counter() - start) * 1000, 1)},
            },
        )


def _product_alpha(rgb: np.ndarray) -> np.ndarray:
    """Alpha for a photo without a person: everything that is not its backdrop, found
    at most ``PRODUCT_SIDE`` large and scaled up smoothly (a soft, anti-aliased edge)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, PRODUCT_SIDE / max(height, width))
    small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    mask = garments.remove_background(small).astype(np.float32)
    if not MIN_SUBJECT_SHARE < mask.mean() < 0.97:
        raise NoGarmentFound("no person, and nothing standing out from the background, was found to cut out")
    alpha = cv2.resize(cv2.GaussianBlur(mask, (0, 0), 0.7), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


def _margin(text: str, shape: tuple[int, ...]) -> int:
    """A margin as pixels: ``12``, ``12px`` or ``5%`` (of the longer side)."""
    match = _MARGIN.match(text)
    if not match:
        raise InvalidParameter(f"margin must be pixels (12 or 12px) or a percentage (5%), got {text!r}", field="margin")
    value, unit = float(match.group(1)), match.group(2)
    return round(value / 100 * max(shape[:2])) if unit == "%" else round(value)


def _crop(rgba: np.ndarray, margin: int) -> np.ndarray:
    """``rgba`` trimmed to its visible subject plus ``margin`` pixels, within the image."""
    ys, xs = np.nonzero(rgba[..., 3] > 8)
    if not len(xs):
        return rgba
    height, width = rgba.shape[:2]
    x0, y0 = max(int(xs.min()) - margin, 0), max(int(ys.min()) - margin, 0)
    x1, y1 = min(int(xs.max()) + 1 + margin, width), min(int(ys.max()) + 1 + margin, height)
    return np.ascontiguousarray(rgba[y0:y1, x0:x1])
