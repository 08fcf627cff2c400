"""The engine interface: an engine describes itself, then turns decoded images into images.

Engines know nothing of HTTP, jobs or storage. Each engine class states, as class
attributes, everything a worker needs to schedule it without loading it: the job kinds
it serves, its inputs (and which of them keep transparency), the device it wants, how
many runs it can do at once, the largest batch it takes and the optional packages it
needs; ``missing`` says in one sentence what this machine lacks to run it. A worker
builds one *lane* per engine from these facts (``fitroom.jobs.worker``).

Instances hold loaded models, so they are created once per engine process by the
registry, and load lazily: on ``warm_up`` (when the process starts) or the first run.

Adding an engine: a subpackage of ``fitroom.engines`` whose module defines an ``Engine``
subclass decorated with ``@register``, plus its module's name in
``registry.BUILTIN_MODULES`` (or, for a plugin, in ``FITROOM_ENGINE_MODULES``).
"""

from __future__ import annotations

import importlib.util
import os
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

from fitroom.errors import FitroomError
from fitroom.options import JobKind, TryOnOptions
from fitroom.settings import Settings


class Device(StrEnum):
    """What an engine runs on. A CUDA engine gets one process per GPU, holding its model
    there; a CPU engine gets up to one process per core."""

    CPU = "cpu"
    CUDA = "cuda"


@dataclass(frozen=True)
class Input:
    """One image an engine takes, by the name dialects store it under."""

    name: str
    required: bool = True
    keep_alpha: bool = False  # decoded as RGBA when the file has transparency


@dataclass(frozen=True)
class EngineRequest:
    """Decoded inputs for one run: ``images`` by input name, H×W×3 uint8 RGB (H×W×4
    RGBA for inputs that keep alpha and have it)."""

    images: Mapping[str, np.ndarray]
    options: TryOnOptions = field(default_factory=TryOnOptions)


@dataclass
class EngineResult:
    """What a run produced.

    ``images`` holds ``options.num_outputs`` distinct variants, uint8 RGB (or RGBA where
    transparency is the point, as for background removal). ``metadata`` says what the
    engine did; it always carries ``applied`` (options honoured, with the values used)
    and ``not_applied`` (options received but not honoured, with why), so a parameter is
    never silently pretended.
    """

    images: list[np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)


class Engine(ABC):
    """A try-on engine. Subclasses set the class attributes below and implement ``run``."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[JobKind]]
    inputs: ClassVar[tuple[Input, ...]]
    device: ClassVar[Device] = Device.CPU
    # Runs at once. CPU engines: processes per lane, None = one per core (capped by
    # FITROOM_WORKERS). CUDA engines: processes per GPU.
    slots: ClassVar[int | None] = None
    # Images one call may produce for several jobs together; 1 = no batching.
    max_batch: ClassVar[int] = 1
    # Import names of the optional packages the engine needs, and how to install them.
    requires: ClassVar[tuple[str, ...]] = ()
    install_hint: ClassVar[str] = ""

    def __init__(self, settings: Settings, device: str = "cpu") -> None:
        self.settings = settings
        self.device_name = device

    # --- what the engine needs, asked before any job is taken ---------------------------

    @classmethod
    def missing(cls, settings: Settings) -> str | None:
        """One sentence on what this machine lacks to run the engine; None when ready.

        The default checks ``requires``; engines with weights add their files."""
        absent = [name for name in cls.requires if importlib.util.find_spec(name) is None]
        if not absent:
            return None
        hint = f" ({cls.install_hint})" if cls.install_hint else ""
        return f"missing Python package{'s' if len(absent) > 1 else ''} {', '.join(absent)}{hint}"

    @classmethod
    def devices(cls, settings: Settings) -> list[str]:
        """The device each of a lane's engine processes runs on, one entry per process."""
        cores = os.cpu_count() or 1
        count = settings.worker_count if settings.workers > 0 else cores
        if cls.slots is not None:
            count = min(count, cls.slots)
        return ["cpu"] * max(1, count)

    @classmethod
    def input(cls, name: str) -> Input | None:
        return next((i for i in cls.inputs if i.name == name), None)

    # --- batching -----------------------------------------------------------------------

    @classmethod
    def batch_key(cls, options: TryOnOptions) -> Hashable:
        """Jobs whose options give equal keys may run in one ``run_batch`` call."""
        return options.effort

    @classmethod
    def batch_cost(cls, options: TryOnOptions) -> int:
        """How much of ``max_batch`` a job takes: the images it asks for."""
        return options.num_outputs

    # --- running ------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load models now rather than on the first run (engine processes call this at start)."""

    @abstractmethod
    def run(self, request: EngineRequest) -> EngineResult:
        """Run one try-on. Raises ``fitroom.errors.EngineError`` (or ``InputError``) on unusable inputs."""

    def run_batch(self, requests: Sequence[EngineRequest]) -> list[EngineResult | FitroomError]:
        """Run several compatible requests; one result or error per request, in order.

        An error in one request must not fail the others. The default runs them one by
        one; engines with ``max_batch`` > 1 override it to share one pass."""
        results: list[EngineResult | FitroomError] = []
        for request in requests:
            try:
                results.append(self.run(request))
            except FitroomError as exc:
                results.append(exc)
        return results


class BatchEngine(Engine):
    """An engine whose work is done in batches: it implements ``run_batch``, and one run
    is a batch of one."""

    def run(self, request: EngineRequest) -> EngineResult:
        result = self.run_batch([request])[0]
        if isinstance(result, FitroomError):
            raise result
        return result

    @abstractmethod
    def run_batch(self, requests: Sequence[EngineRequest]) -> list[EngineResult | FitroomError]:
        """Run several compatible requests in shared passes; one result or error per request."""
