"""``test-a`` and ``test-b``: engines that count their calls and do almost nothing.

Each call appends one line per job to ``<data dir>/test-engines/<engine>.log`` (the
seed of the job and the number of jobs in the call), from whichever process runs it, so
a test can prove which lane ran a job, that nothing ran twice, and that jobs were
batched. The image they return is the person (or only) image, inverted: a result that
is visibly not the input. A garment description ``sleep=SECONDS`` (r-vton's
``garment_des``) makes a run take that long, to catch jobs running or time them out.
``test-unready`` is never ready, to show how a lane refuses to start.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Hashable, Sequence

import numpy as np

from fitroom.engines.base import BatchEngine, EngineRequest, EngineResult, Input
from fitroom.engines.registry import register
from fitroom.errors import FitroomError, InvalidParameter
from fitroom.options import JobKind, TryOnOptions
from fitroom.settings import Settings


class CountingEngine(BatchEngine):
    kinds = frozenset(JobKind)
    inputs = (
        Input("person", required=False),
        Input("garment", required=False),
        Input("glasses", required=False, keep_alpha=True),
        Input("image", required=False),
    )
    slots = 1
    max_batch = 4

    @classmethod
    def batch_key(cls, options: TryOnOptions) -> Hashable:
        return options.effort

    def run_batch(self, requests: Sequence[EngineRequest]) -> list[EngineResult | FitroomError]:
        self._log(requests)
        time.sleep(max(_sleep(r.options) for r in requests))
        results: list[EngineResult | FitroomError] = []
        for request in requests:
            try:
                results.append(self._result(request, len(requests)))
            except FitroomError as exc:
                results.append(exc)
        return results

    def _log(self, requests: Sequence[EngineRequest]) -> None:
        folder = self.settings.data_dir / "test-engines"
        folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(
            json.dumps({"seed": r.options.seed, "batch": len(requests), "pid": os.getpid()}) + "\n"
            for r in requests
        )
        # One write in append mode: lines from several processes never interleave.
        with open(folder / f"{self.name}.log", "a", encoding="utf-8") as log:
            log.write(lines)

    def _result(self, request: EngineRequest, batch: int) -> EngineResult:
        source = next((request.images[i.name] for i in self.inputs if i.name in request.images), None)
        if source is None:
            raise InvalidParameter("the test engine needs at least one image")
        inverted = 255 - np.ascontiguousarray(source[..., :3])
        return EngineResult(
            images=[inverted] * request.options.num_outputs,
            metadata={"applied": {"seed": request.options.seed}, "not_applied": {}, "batch": batch},
        )


def _sleep(options: TryOnOptions) -> float:
    key, _, value = options.garment_description.partition("=")
    return float(value) if key == "sleep" else 0.0


@register
class TestEngineA(CountingEngine):
    name = "test-a"


@register
class TestEngineB(CountingEngine):
    name = "test-b"


@register
class TestEngineUnready(CountingEngine):
    name = "test-unready"

    @classmethod
    def missing(cls, settings: Settings) -> str | None:
        return f"the file {settings.data_dir / 'never-there.bin'} is missing (this test engine is never ready)"


def calls(data_dir: os.PathLike[str] | str, engine: str) -> list[dict[str, int]]:
    """Every job ``engine`` ran in ``data_dir``, one entry per job and call."""
    path = os.path.join(data_dir, "test-engines", f"{engine}.log")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]
