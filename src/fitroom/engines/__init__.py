"""Try-on engines behind one interface (``base.Engine``), looked up by name (``registry``)."""

from fitroom.engines.base import Engine, EngineRequest, EngineResult
from fitroom.engines.registry import get, register

__all__ = ["Engine", "EngineRequest", "EngineResult", "get", "register"]
