"""Reframing on the CPU (FASHN's ``reframe`` model): the photo cropped to a requested
aspect ratio, keeping the person whole and centred on the body.

Only cropping: the largest frame of that aspect ratio inside the photo, centred on the
person's silhouette and shifted as little as needed to stay inside. When the person
does not fit such a frame whole, the result is still that frame, and the metadata says
that keeping the person whole was not applied: it would take widening the canvas,
which needs a generative engine.
"""

from __future__ import annotations

import re
import time

import numpy as np

from fitroom.engines.base import Engine, EngineRequest, EngineResult, Input
from fitroom.engines.cpu import person as persons
from fitroom.engines.registry import register
from fitroom.errors import InvalidParameter, NoPersonFound
from fitroom.options import JobKind

ASPECT_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")


def parse_aspect_ratio(text: str) -> float:
    """Width / height of ``W:H`` (e.g. ``4:5``); InvalidParameter for anything else."""
    match = ASPECT_RATIO.match(text)
    if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise InvalidParameter(
            f"aspect_ratio must look like 4:5 (width:height, whole numbers), got {text!r}", field="aspect_ratio"
        )
    return int(match.group(1)) / int(match.group(2))


def frame(shape: tuple[int, int], box: tuple[int, int, int, int], ratio: float) -> tuple[int, int, int, int]:
    """The largest ``ratio`` (width / height) crop of an image of ``shape`` (H, W), centred
    on ``box`` (x0, y0, x1, y1) as far as the image allows: (x0, y0, x1, y1)."""
    height, width = shape
    if width / height > ratio:
        crop_h, crop_w = height, max(1, round(height * ratio))
    else:
        crop_w, crop_h = width, max(1, round(width / ratio))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0 = int(np.clip(round(cx - crop_w / 2), 0, width - crop_w))
    y0 = int(np.clip(round(cy - crop_h / 2), 0, height - crop_h))
    return x0, y0, x0 + crop_w, y0 + crop_h


@register(default=True)
class CpuReframeEngine(Engine):
    name = "cpu-reframe"
    kinds = frozenset({JobKind.REFRAME})
    inputs = (Input("image"),)

    def warm_up(self) -> None:
        persons.warm_up()

    def run(self, request: EngineRequest) -> EngineResult:
        if "image" not in request.images:
            raise InvalidParameter("reframing needs an image", field="image")
        start = time.perf_counter()
        options = request.options
        ratio = parse_aspect_ratio(str(options.extras.get("aspect_ratio", "")))
        rgb = np.ascontiguousarray(request.images["image"][..., :3])
        analysis = persons.detect(rgb)
        if analysis is None:
            raise NoPersonFound("no person was found to frame")
        ys, xs = np.nonzero(analysis.binary)
        body = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        x0, y0, x1, y1 = frame((rgb.shape[0], rgb.shape[1]), body, ratio)
        whole = x0 <= body[0] and y0 <= body[1] and x1 >= body[2] and y1 >= body[3]
        not_applied = {}
        if not whole:
            not_applied["keep_person_whole"] = (
                f"the person does not fit a {options.extras['aspect_ratio']} frame inside this photo; "
                "widening the canvas needs a generative engine, so the frame cuts the person"
            )
        return EngineResult(
            images=[np.ascontiguousarray(rgb[y0:y1, x0:x1])],
            metadata={
                "engine": self.name,
                "applied": {"aspect_ratio": options.extras["aspect_ratio"], "crop_box": [x0, y0, x1, y1]},
                "not_applied": not_applied,
                "timings_ms": {"total": round((time.perf_counter() - start) * 1000, 1)},
            },
        )
