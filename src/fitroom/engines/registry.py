"""Engines registered by name, their self-descriptions, and one instance per process.

An engine module registers its class at import time with ``@register``. The registry
imports the built-in engine modules (and any named in ``FITROOM_ENGINE_MODULES``)
lazily, so importing ``fitroom.engines`` stays cheap (no MediaPipe, no torch) for
processes that never run an engine, such as the API server's event loop; asking what an
engine needs (``describe``) imports its module but loads no model.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, overload

from fitroom.engines.base import Device, Engine
from fitroom.errors import EngineUnavailable
from fitroom.options import JobKind
from fitroom.settings import Settings

# One line per built-in engine family: adding an engine adds its module here.
BUILTIN_MODULES = (
    "fitroom.engines.cpu.clothing",
    "fitroom.engines.cpu.glasses",
    "fitroom.engines.cpu.cutout",
    "fitroom.engines.cpu.reframe",
    "fitroom.engines.fashn_vton.engine",
)

_classes: dict[str, type[Engine]] = {}
_defaults: dict[JobKind, str] = {}
_instances: dict[str, Engine] = {}
_lock = threading.RLock()
_imported: set[str] = set()


E = TypeVar("E", bound=type[Engine])


@overload
def register(cls: E) -> E: ...
@overload
def register(*, default: bool = False) -> Callable[[E], E]: ...
def register(cls: E | None = None, *, default: bool = False) -> E | Callable[[E], E]:
    """Class decorator: make ``cls`` available as ``cls.name``; with ``default``, the
    engine that serves its kinds when no route says otherwise."""

    def wrap(engine_cls: E) -> E:
        _classes[engine_cls.name] = engine_cls
        if default:  # only by saying so: an engine imported early must not become a default
            for kind in engine_cls.kinds:
                _defaults[kind] = engine_cls.name
        return engine_cls

    return wrap(cls) if cls is not None else wrap


def load(modules: Iterable[str] = ()) -> None:
    """Import the built-in engine modules and ``modules`` (once each)."""
    with _lock:
        for module in (*BUILTIN_MODULES, *modules):
            if module in _imported:
                continue
            importlib.import_module(module)
            _imported.add(module)


def names(settings: Settings | None = None) -> list[str]:
    """Every registered engine name."""
    load(settings.engine_modules if settings else ())
    return sorted(_classes)


def engine_class(name: str, settings: Settings | None = None) -> type[Engine]:
    load(settings.engine_modules if settings else ())
    if name not in _classes:
        known = ", ".join(sorted(_classes))
        raise EngineUnavailable(f"no engine named {name!r} is registered (registered: {known})")
    return _classes[name]


def default_name(kind: JobKind, settings: Settings | None = None) -> str:
    load(settings.engine_modules if settings else ())
    if kind not in _defaults:
        raise EngineUnavailable(f"no engine is registered for {kind.value} jobs")
    return _defaults[kind]


@dataclass(frozen=True)
class EngineInfo:
    """An engine as ``fitroom engines`` lists it: what it is and whether it runs here."""

    name: str
    kinds: tuple[JobKind, ...]
    device: Device
    devices: tuple[str, ...]  # where a lane of it would run its processes on this machine
    max_batch: int
    missing: str | None  # None: ready

    @property
    def ready(self) -> bool:
        return self.missing is None


def describe(settings: Settings) -> list[EngineInfo]:
    """Every registered engine's facts and readiness on this machine, by name."""
    infos = []
    for name in names(settings):
        cls = _classes[name]
        missing = cls.missing(settings)
        infos.append(
            EngineInfo(
                name=name,
                kinds=tuple(sorted(cls.kinds)),
                device=cls.device,
                devices=tuple(cls.devices(settings)) if missing is None else (),
                max_batch=cls.max_batch,
                missing=missing,
            )
        )
    return infos


def get(name: str, settings: Settings | None = None, *, device: str = "cpu") -> Engine:
    """This process's instance of engine ``name``, created on first use (with the
    environment's settings when none are given, as offline tools do).

    A process runs each engine on one device (a worker gives each CUDA engine process its
    own GPU), so the instance is keyed by name alone."""
    cls = engine_class(name, settings)
    with _lock:
        if name not in _instances:
            _instances[name] = cls(settings or Settings(), device)
        return _instances[name]
