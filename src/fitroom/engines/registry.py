"""Engines registered by name; one instance per process, created on first use.

An engine module registers its class at import time with ``@register``. The registry
imports the built-in engine modules lazily, so importing ``fitroom.engines`` stays cheap
(no MediaPipe import) for processes that never run an engine, such as the API server's
event loop.
"""

from __future__ import annotations

import importlib
import threading

from fitroom.engines.base import Engine
from fitroom.errors import EngineUnavailable
from fitroom.jobs.model import JobKind

# Modules that hold the built-in engines, imported on the first lookup.
BUILTIN_MODULES = (
    "fitroom.engines.clothing_cpu",
    "fitroom.engines.glasses_cpu",
    "fitroom.engines.cutout_cpu",
)

_classes: dict[str, type[Engine]] = {}
_defaults: dict[JobKind, str] = {}
_instances: dict[str, Engine] = {}
_lock = threading.Lock()
_loaded = False


def register(cls: type[Engine] | None = None, *, default: bool = False):
    """Class decorator: make ``cls`` available as ``cls.name`` (and as its kind's default)."""

    def wrap(engine_cls: type[Engine]) -> type[Engine]:
        _classes[engine_cls.name] = engine_cls
        if default or engine_cls.kind not in _defaults:
            _defaults[engine_cls.kind] = engine_cls.name
        return engine_cls

    return wrap(cls) if cls is not None else wrap


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency, not a missing engine module
                raise
    _loaded = True


def names() -> list[str]:
    """Every registered engine name."""
    with _lock:
        _load_builtins()
    return sorted(_classes)


def default_name(kind: JobKind) -> str:
    with _lock:
        _load_builtins()
        if kind not in _defaults:
            raise EngineUnavailable(f"no engine is registered for {kind.value} jobs")
        return _defaults[kind]


def get(name: str | None = None, *, kind: JobKind | None = None) -> Engine:
    """The process-wide instance of engine ``name`` (or of ``kind``'s default)."""
    if name is None:
        if kind is None:
            raise ValueError("get() needs an engine name or a kind")
        name = default_name(kind)
    with _lock:
        _load_builtins()
        if name not in _classes:
            raise EngineUnavailable(f"engine {name!r} is not available on this server")
        if name not in _instances:
            _instances[name] = _classes[name]()
        return _instances[name]
