"""One job's engine work, run inside a worker's child process.

Everything CPU-heavy happens here, off the event loop and off the GIL of the server
process: decoding the stored inputs, the engine itself, encoding the results. Arguments
and results are plain bytes and dicts so they cross the process boundary cheaply.
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

import cv2

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.images.decode import decode
from fitroom.images.encode import content_type, encode
from fitroom.images.limits import ImageLimits
from fitroom.jobs.model import JobKind, JobSpec, OutputFormat

log = logging.getLogger(__name__)

# Inputs were validated against the dialect's limits at submit; here they only need to
# decode again. Alpha matters only for the glasses image.
_STORED = ImageLimits(max_bytes=1 << 30, min_side=1, max_side=None, formats=None, keep_alpha=False)
_STORED_ALPHA = ImageLimits(max_bytes=1 << 30, min_side=1, max_side=None, formats=None, keep_alpha=True)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass
class EncodedOutput:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass
class Outcome:
    outputs: list[EncodedOutput]
    metadata: dict[str, Any] = field(default_factory=dict)


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


def init_process(kinds: tuple[str, ...] = ()) -> None:
    """Child-process start: tie the child's life to its parent's, one OpenCV thread per
    process (the pool already uses every core, and single-threaded kernels keep results
    bit-identical), then load models."""
    _die_with_parent()
    cv2.setNumThreads(1)
    for kind in kinds:
        try:
            registry.get(kind=JobKind(kind)).warm_up()
        except Exception:  # a broken engine must not stop the pool; its jobs fail by name
            log.exception("warming up the %s engine failed", kind)


def run_job(spec_json: dict[str, Any], inputs: dict[str, bytes], max_pixels: int) -> Outcome:
    """Decode ``inputs``, run the job's engine, encode its images."""
    spec = JobSpec.model_validate(spec_json)
    started = time.perf_counter()
    arrays = {
        name: decode(
            data, _STORED_ALPHA if name == "glasses" else _STORED, max_pixels=max_pixels
        ).array
        for name, data in inputs.items()
    }
    engine = registry.get(spec.engine, kind=spec.kind)
    result = engine.run(EngineRequest(images=arrays, options=spec.options))
    fmt = spec.options.output_format
    if spec.kind is JobKind.BACKGROUND_REMOVE:
        fmt = OutputFormat.PNG  # a cut-out is transparency; JPEG would flatten it
    outputs = []
    for array in result.images:
        data = encode(array, fmt)
        outputs.append(
            EncodedOutput(
                data=data,
                content_type=content_type(fmt),
                extension="jpg" if fmt is OutputFormat.JPEG else "png",
                width=int(array.shape[1]),
                height=int(array.shape[0]),
            )
        )
    metadata = dict(result.metadata)
    metadata["engine"] = engine.name
    metadata["engine_seconds"] = round(time.perf_counter() - started, 4)
    return Outcome(outputs=outputs, metadata=metadata)
