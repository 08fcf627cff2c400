"""Engine work, run inside a lane's child process.

Everything CPU- or GPU-heavy happens here, off the event loop and off the GIL of the
server process: decoding the stored inputs, the engine itself, encoding the results. A
process belongs to one lane, so it loads one engine on one device, once, at start.
Arguments and results are plain bytes, dicts and dataclasses so they cross the process
boundary cheaply.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fitroom.engines import registry
from fitroom.engines.base import Engine, EngineRequest, EngineResult
from fitroom.errors import FitroomError
from fitroom.images.decode import decode
from fitroom.images.encode import content_type, encode, extension
from fitroom.images.limits import ImageLimits
from fitroom.images.resize import RESOLUTIONS, fit_long_side
from fitroom.jobs.model import JobSpec
from fitroom.logs import quiet_native_logs_for_good
from fitroom.settings import Settings

log = logging.getLogger(__name__)

# Inputs were validated against the dialect's limits at submit; here they only need to
# decode again, with alpha where the engine asks for it.
_STORED = ImageLimits(max_bytes=1 << 30, min_side=1, max_side=None, formats=None, keep_alpha=False)
_STORED_ALPHA = ImageLimits(max_bytes=1 << 30, min_side=1, max_side=None, formats=None, keep_alpha=True)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

# This process's settings and engine, set once by ``init_process``.
_settings: Settings | None = None


@dataclass
class EncodedOutput:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass
class Outcome:
    """A job that produced images."""

    outputs: list[EncodedOutput]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    """A job the engine could not produce a result for, by the error's code and message.
    (Errors travel as these rather than as pickled exceptions, whose extra constructor
    arguments do not survive the trip.)"""

    code: str
    message: str


def _die_with_parent() -> None:
    """Have the kernel kill this child when the process that started it dies, however it
    dies: MediaPipe's native code handles SIGTERM itself, so without this an engine
    process (half a gigabyte, models loaded) outlives a stopped or killed server."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the line above took effect
        os._exit(0)


def init_process(engine_name: str, device: str, settings_json: dict[str, Any]) -> None:
    """Child-process start: tie the child's life to its parent's, step back in the
    scheduler so the API process answers first under load, then load the engine."""
    global _settings
    _die_with_parent()
    settings = Settings(**settings_json)
    quiet_native_logs_for_good(not settings.engine_logs)
    if settings.engine_niceness > 0:
        os.nice(settings.engine_niceness)
    _settings = settings
    registry.load(settings.engine_modules)
    try:
        registry.get(engine_name, settings, device=device).warm_up()
    except Exception:  # a broken engine must not stop the pool; its jobs fail by name
        log.exception("warming up engine %s failed", engine_name)


def _engine(name: str) -> Engine:
    if _settings is None:
        raise RuntimeError("init_process did not run in this process")
    return registry.get(name, _settings)


def run_jobs(
    engine_name: str, jobs: list[tuple[dict[str, Any], dict[str, bytes]]], max_pixels: int
) -> list[Outcome | Failure]:
    """Decode each job's inputs, run them on the engine (in one batch when there are
    several), encode their images. One outcome or failure per job, in order."""
    engine = _engine(engine_name)
    started = time.perf_counter()
    specs = [JobSpec.model_validate(spec_json) for spec_json, _ in jobs]
    results: list[EngineResult | FitroomError | None] = [None] * len(jobs)
    requests: list[tuple[int, EngineRequest]] = []
    for index, (spec, (_, inputs)) in enumerate(zip(specs, jobs, strict=True)):
        try:
            requests.append((index, EngineRequest(images=_decode(engine, inputs, max_pixels), options=spec.options)))
        except FitroomError as exc:  # an input that no longer decodes fails its own job only
            results[index] = exc
    if len(requests) == 1:
        index, request = requests[0]
        try:
            results[index] = engine.run(request)
        except FitroomError as exc:
            results[index] = exc
    elif requests:
        for (index, _), result in zip(requests, engine.run_batch([r for _, r in requests]), strict=True):
            results[index] = result
    seconds = round(time.perf_counter() - started, 4)
    return [_outcome(engine, spec, result, seconds, len(requests)) for spec, result in zip(specs, results, strict=True)]


def _decode(engine: Engine, inputs: dict[str, bytes], max_pixels: int) -> dict[str, Any]:
    arrays = {}
    for name, data in inputs.items():
        declared = engine.input(name)
        limits = _STORED_ALPHA if declared is not None and declared.keep_alpha else _STORED
        arrays[name] = decode(data, limits, max_pixels=max_pixels).array
    return arrays


def _outcome(
    engine: Engine, spec: JobSpec, result: EngineResult | FitroomError | None, seconds: float, batch: int
) -> Outcome | Failure:
    if result is None:  # cannot happen: every job got a result or an error above
        return Failure("internal_error", "The engine returned no result for this job.")
    if isinstance(result, FitroomError):
        return Failure(result.code, result.message)
    fmt = spec.options.output_format
    metadata = dict(result.metadata)
    images = _resolution(result.images, spec, metadata)
    outputs = [
        EncodedOutput(
            data=encode(array, fmt),
            content_type=content_type(fmt),
            extension=extension(fmt),
            width=int(array.shape[1]),
            height=int(array.shape[0]),
        )
        for array in images
    ]
    metadata["engine"] = engine.name
    metadata["engine_seconds"] = seconds
    if batch > 1:
        metadata["batch_size"] = batch
    return Outcome(outputs=outputs, metadata=metadata)


def _resolution(images: list[np.ndarray], spec: JobSpec, metadata: dict[str, Any]) -> list[np.ndarray]:
    """Honour a named output resolution (FASHN's ``resolution``) by shrinking results
    larger than it; one above the result's own size is reported as not applied, since
    results are never upscaled."""
    name = spec.options.extras.get("resolution")
    if name not in RESOLUTIONS:
        return images
    side = RESOLUTIONS[name]
    applied = dict(metadata.get("applied", {}))
    not_applied = dict(metadata.get("not_applied", {}))
    not_applied.pop("resolution", None)
    largest = max((max(image.shape[:2]) for image in images), default=0)
    if largest < side:
        not_applied["resolution"] = (
            f"{name} is above the result's own resolution ({largest} px on the longer side); results are not upscaled"
        )
    else:
        applied["resolution"] = name
    metadata.update(applied=applied, not_applied=not_applied)
    return [fit_long_side(image, side) for image in images]
