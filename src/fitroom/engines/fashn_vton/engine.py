"""``fashn-vton-1.5``: FASHN VTON v1.5 as a Fitroom engine.

The engine wants a CUDA GPU (one process per GPU, the model loaded there once, in bf16)
and falls back to the CPU, in float32, where there is none (slow: minutes per image at
the published size, but it works, and tests run it with a tiny random model). It reads
the published weights from ``FITROOM_VTON_WEIGHTS``; until they are there, ``missing``
says which files are absent and how to fetch them, and no lane starts.

Torch and the pipeline are imported only inside the engine process, so that listing or
routing engines costs no torch import.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fitroom.engines.base import BatchEngine, Device, EngineRequest, EngineResult, Input
from fitroom.engines.fashn_vton.weights import missing_files
from fitroom.engines.registry import register
from fitroom.errors import FitroomError, InvalidParameter
from fitroom.options import Effort, JobKind, PhotoType, Region, TryOnOptions
from fitroom.settings import Settings

if TYPE_CHECKING:
    from fitroom.engines.fashn_vton.pipeline import Pipeline, TryOn

log = logging.getLogger(__name__)

# Sampling steps per effort, the published recommendations (20 fast, 30 balanced, 50
# quality); r-vton's own ``steps`` field wins where a request has one.
STEPS = {Effort.FAST: 20, Effort.BALANCED: 30, Effort.QUALITY: 50}
MAX_STEPS = 100
CATEGORY = {Region.UPPER: 1, Region.OUTERWEAR: 1, Region.LOWER: 2, Region.FULL: 3}
CATEGORY_NAMES = {1: "tops", 2: "bottoms", 3: "one-pieces"}
FETCH = (
    "fetch them with the published script: git clone https://github.com/fashn-AI/fashn-vton-1.5 && "
    "python fashn-vton-1.5/scripts/download_weights.py --weights-dir DIR, then set FITROOM_VTON_WEIGHTS=DIR"
)
# What the model does not take, and why (reported as not applied, never pretended).
NOT_FOR_VTON = {
    "crop": "the model keeps the person photo's framing",
    "mask_only": "the model generates the image; it has no separate try-on mask",
    "remove_background": "the model keeps the photo's background",
    "garment_description": "the model takes no text",
}
NOT_FOR_VTON_EXTRAS = {
    "moderation_level": "this server does no content moderation",
    "force_dc": "one model serves every category",
    "prompt": "the model takes no text",
    "aspect_ratio": "the result keeps the person photo's aspect ratio",
}


def steps_for(options: TryOnOptions) -> int:
    steps = options.extras.get("steps")
    if isinstance(steps, int) and 1 <= steps <= MAX_STEPS:
        return steps
    return STEPS[options.effort]


@register
class FashnVtonEngine(BatchEngine):
    name = "fashn-vton-1.5"
    kinds = frozenset({JobKind.CLOTHING})
    inputs = (Input("person"), Input("garment"))
    device = Device.CUDA
    slots = 1  # one process per GPU holds the model
    max_batch = 4  # images per sampler call
    requires = ("torch", "safetensors", "onnxruntime")
    install_hint = "pip install 'fitroom[vton]'"

    def __init__(self, settings: Settings, device: str = "cpu") -> None:
        super().__init__(settings, device)
        self._pipeline: Pipeline | None = None

    # --- what it needs ------------------------------------------------------------------

    @classmethod
    def missing(cls, settings: Settings) -> str | None:
        packages = super().missing(settings)
        if packages is not None:
            return packages
        folder = settings.vton_weights
        if folder is None:
            return f"FITROOM_VTON_WEIGHTS is not set; it names the folder of the published weights ({FETCH})"
        absent = missing_files(Path(folder))
        if absent:
            return f"missing {', '.join(str(p) for p in absent)} ({FETCH})"
        if settings.vton_device == "cuda" and not cls.devices(settings)[0].startswith("cuda"):
            return "FITROOM_VTON_DEVICE=cuda but no CUDA GPU is visible to torch"
        return None

    @classmethod
    def devices(cls, settings: Settings) -> list[str]:
        """One process per visible GPU; on a machine without one (or with
        ``FITROOM_VTON_DEVICE=cpu``) a single CPU process, which uses every core."""
        if settings.vton_device != "cpu" and importlib.util.find_spec("torch") is not None:
            import torch

            count = torch.cuda.device_count()
            if count:
                return [f"cuda:{index}" for index in range(count) for _ in range(cls.slots or 1)]
        return ["cpu"]

    # --- batching -----------------------------------------------------------------------

    @classmethod
    def batch_key(cls, options: TryOnOptions) -> Hashable:
        # One sampler call runs one schedule: jobs batch only with the same step count.
        return steps_for(options)

    # --- running ------------------------------------------------------------------------

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> Pipeline:
        if self._pipeline is None:
            from fitroom.engines.fashn_vton.pipeline import Pipeline

            folder = self.settings.vton_weights
            if folder is None:
                raise RuntimeError("FITROOM_VTON_WEIGHTS is not set")
            self._pipeline = Pipeline.load(Path(folder), self.device_name)
            log.info("FASHN VTON v1.5 loaded on %s", self.device_name)
        return self._pipeline

    def run_batch(self, requests: Sequence[EngineRequest]) -> list[EngineResult | FitroomError]:
        """Prepare each request (an unusable one fails alone), then sample the prepared
        ones together, ``max_batch`` images per sampler call."""
        pipeline = self._load()
        results: list[EngineResult | FitroomError | None] = [None] * len(requests)
        ready: list[tuple[int, TryOn, Any, dict[str, Any]]] = []
        for index, request in enumerate(requests):
            try:
                job, metadata = self._try_on(request)
                ready.append((index, job, pipeline.prepare(job), metadata))
            except FitroomError as exc:
                results[index] = exc
        steps = steps_for(requests[ready[0][0]].options) if ready else 0
        for chunk in _chunks(ready, self.max_batch):
            images = pipeline.generate([job for _, job, _, _ in chunk], [p for _, _, p, _ in chunk], steps)
            for (index, _, prepared, metadata), outputs in zip(chunk, images, strict=True):
                metadata.update(prepared.facts)
                metadata["batch_images"] = sum(job.samples for _, job, _, _ in chunk)
                results[index] = EngineResult(images=outputs, metadata=metadata)
        return [r if r is not None else FitroomError("no result") for r in results]

    def _try_on(self, request: EngineRequest) -> tuple[TryOn, dict[str, Any]]:
        """The model's view of a request, and the metadata saying what was honoured."""
        from fitroom.engines.cpu import garment as garments
        from fitroom.engines.fashn_vton.pipeline import GUIDANCE_SCALE, TryOn

        images = request.images
        if "person" not in images or "garment" not in images:
            raise InvalidParameter("a clothing try-on needs a person and a garment image")
        options = request.options
        person = images["person"][..., :3]
        garment = images["garment"][..., :3]
        region, photo_type, mask = options.region, options.photo_type, None
        # Our CPU analysis decides what the request leaves open (auto category or photo
        # type) and cuts out a worn garment; a flat-lay photo of a known category needs none.
        if region is Region.AUTO or photo_type is not PhotoType.FLAT_LAY:
            found = garments.extract(garment, region=region, photo_type=photo_type, preprocess=True)
            region, photo_type = found.region, found.photo_type
            mask = found.mask if photo_type is PhotoType.WORN else None
        category = CATEGORY[region]
        segmentation_free = bool(options.extras.get("segmentation_free", True))
        steps = steps_for(options)
        job = TryOn(
            person=person,
            garment=garment,
            category=category,
            garment_worn=photo_type is PhotoType.WORN,
            garment_mask=mask,
            seed=options.seed,
            samples=options.num_outputs,
            segmentation_free=segmentation_free,
        )
        applied: dict[str, Any] = {
            "category": CATEGORY_NAMES[category],
            "garment_photo_type": "model" if job.garment_worn else "flat-lay",
            "steps": steps,
            "guidance_scale": GUIDANCE_SCALE,
            "seed": options.seed,
            "num_samples": options.num_outputs,
            "output_format": options.output_format.value,
            "segmentation_free": True,
        }
        defaults = TryOnOptions()
        not_applied = {key: why for key, why in NOT_FOR_VTON.items() if getattr(options, key) != getattr(defaults, key)}
        not_applied.update(
            {
                key: NOT_FOR_VTON_EXTRAS.get(key, "not used by this engine")
                for key in options.extras
                if key not in ("steps", "segmentation_free")
            }
        )
        if region is Region.OUTERWEAR:
            not_applied["outerwear"] = "the model has no outerwear category; it was tried on as a top"
        if not segmentation_free:
            if self._load().parsing is None:
                not_applied["segmentation_free"] = (
                    "masking the person needs FASHN's human parser, which is not installed here with its "
                    "weights; the person photo was used as it is"
                )
            else:
                applied["segmentation_free"] = False
        return job, {"engine": self.name, "applied": applied, "not_applied": not_applied}


def _chunks(items: list[Any], images: int) -> list[list[Any]]:
    """Consecutive groups whose samples add up to at most ``images`` (a job asking for
    more than that runs alone)."""
    chunks: list[list[Any]] = []
    count = 0
    for item in items:
        samples = item[1].samples
        if chunks and count + samples <= images:
            chunks[-1].append(item)
            count += samples
        else:
            chunks.append([item])
            count = samples
    return chunks
