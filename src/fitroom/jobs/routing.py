"""Which engine runs which job: decided at submit time and recorded on the job.

Routes are configuration (``FITROOM_ROUTES``): ``KIND=ENGINE`` for every dialect, or
``DIALECT:KIND=ENGINE`` for one, the more specific winning; a kind no route names goes
to the engine registered as its default (the CPU engines). Routes are checked when the
server starts, so a typo fails the start, not the first request.
"""

from __future__ import annotations

from collections.abc import Iterable

from fitroom.engines import registry
from fitroom.errors import EngineUnavailable
from fitroom.options import JobKind
from fitroom.settings import Settings


class Router:
    def __init__(self, settings: Settings, dialects: Iterable[str]) -> None:
        self.settings = settings
        self.dialects = frozenset(dialects)
        self._routes: dict[tuple[str | None, JobKind], str] = {}
        for key, engine in settings.all_routes.items():
            self._routes[self._parse(key)] = engine
        self._check()

    def _parse(self, key: str) -> tuple[str | None, JobKind]:
        dialect, sep, kind_name = key.strip().rpartition(":")
        kinds = ", ".join(k.value for k in JobKind)
        try:
            kind = JobKind(kind_name.strip())
        except ValueError:
            raise ValueError(f"route {key!r}: {kind_name!r} is not a job kind ({kinds})") from None
        if not sep:
            return None, kind
        if dialect not in self.dialects:
            known = ", ".join(sorted(self.dialects))
            raise ValueError(f"route {key!r}: {dialect!r} is not a dialect ({known})")
        return dialect, kind

    def _check(self) -> None:
        for (dialect, kind), engine in self._routes.items():
            where = f"{dialect}:{kind.value}" if dialect else kind.value
            try:
                cls = registry.engine_class(engine, self.settings)
            except EngineUnavailable as exc:
                raise ValueError(f"route {where}={engine}: {exc.message}") from None
            if kind not in cls.kinds:
                served = ", ".join(sorted(k.value for k in cls.kinds))
                raise ValueError(f"route {where}={engine}: {engine} serves {served} jobs, not {kind.value}")

    def engine_for(self, dialect: str, kind: JobKind) -> str:
        """The engine that will run a ``kind`` job submitted through ``dialect``."""
        return (
            self._routes.get((dialect, kind))
            or self._routes.get((None, kind))
            or registry.default_name(kind, self.settings)
        )

    def engines(self) -> set[str]:
        """Every engine some job may be routed to."""
        defaults = {registry.default_name(kind, self.settings) for kind in JobKind}
        return defaults | set(self._routes.values())
