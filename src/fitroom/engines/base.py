"""The engine interface: images and options in, images and metadata out.

Engines know nothing of HTTP, jobs or storage. A worker decodes the job's inputs into
arrays, calls ``Engine.run`` and encodes what comes back. An engine raises one of the
``EngineError`` subclasses of ``fitroom.errors`` when the inputs cannot give a result.

Models load lazily, once per process, on the first ``run`` (or ``warm_up``), and are
shared by every job that process runs; engine instances therefore hold their models and
are created once per process by the registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from fitroom.jobs.model import JobKind, TryOnOptions


@dataclass(frozen=True)
class EngineRequest:
    """Decoded inputs for one run.

    ``images`` keys by kind:
      clothing: ``person`` (H×W×3 uint8 RGB), ``garment`` (H×W×3 RGB or H×W×4 RGBA);
      glasses: ``person`` (RGB), optional ``glasses`` (H×W×4 RGBA or RGB);
      background_remove: ``image`` (RGB).
    """

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
    """A try-on engine. Subclasses set ``name`` and ``kind`` and implement ``run``."""

    name: ClassVar[str]
    kind: ClassVar[JobKind]

    def warm_up(self) -> None:
        """Load models now rather than on the first run (workers call this at start)."""

    @abstractmethod
    def run(self, request: EngineRequest) -> EngineResult:
        """Run one try-on. Raises ``fitroom.errors.EngineError`` subclasses on bad inputs."""
