"""Background removal on the CPU (FASHN's ``background-remove`` model): the person cut
out on transparency, from the same MediaPipe silhouette the clothing engine uses."""

from __future__ import annotations

import time

import numpy as np

from fitroom.engines.base import Engine, EngineRequest, EngineResult, Input
from fitroom.engines.cpu import person as persons
from fitroom.engines.registry import register
from fitroom.errors import InvalidParameter, NoPersonFound
from fitroom.options import JobKind

# Options that mean something for a try-on but not for a cut-out.
_TRYON_ONLY = ("region", "photo_type", "effort", "crop", "mask_only", "remove_background", "preprocess_garment")


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
        rgb = np.ascontiguousarray(request.images["image"][..., :3])
        analysis = persons.detect(rgb)
        if analysis is None:
            raise NoPersonFound("no person was found to cut out")
        # The model's soft mask is the alpha: hair and edges keep their partial cover.
        alpha = np.round(np.clip(analysis.mask, 0, 1) * 255).astype(np.uint8)
        rgba = np.dstack([rgb, alpha])
        options = request.options
        defaults = type(options)()
        not_applied = {key: "not used by background removal" for key in options.extras}
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
                "applied": {"output_format": options.output_format.value},
                "not_applied": not_applied,
                "timings_ms": {"total": round((time.perf_counter() - start) * 1000, 1)},
            },
        )
