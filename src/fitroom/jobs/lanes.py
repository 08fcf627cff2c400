"""The lanes running workers serve, as the store knows them.

Each worker writes one row per lane (an engine and the devices of its processes) and
refreshes its heartbeat every few seconds; a row whose heartbeat is older than a few
beats belongs to a worker that stopped or died. From these rows the server tells a
client that no running worker serves a job's engine, shares a queue's estimate among
the processes that really serve it, and lists lanes for the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fitroom.jobs.db import read_only, rowcount
from fitroom.jobs.tables import LaneRow

# A lane counts as running while its last heartbeat is younger than this many beats.
STALE_AFTER_BEATS = 4


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LaneRecord:
    worker_id: str
    engine: str
    devices: tuple[str, ...]
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime


class LaneStore:
    def __init__(
        self, engine: sa.Engine, *, heartbeat_seconds: float, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._engine = engine
        self._reader = read_only(engine)
        self._clock = clock
        self.heartbeat_seconds = heartbeat_seconds

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_seconds * STALE_AFTER_BEATS)

    def beat(self, worker_id: str, host: str, pid: int, lanes: Mapping[str, Sequence[str]]) -> None:
        """Record that ``worker_id`` runs these lanes (engine -> devices) now."""
        now = self._clock()
        with Session(self._engine) as session, session.begin():
            for engine, devices in lanes.items():
                lane_id = f"{worker_id}/{engine}"
                updated = session.execute(
                    sa.update(LaneRow)
                    .where(LaneRow.id == lane_id)
                    .values(heartbeat_at=now, devices=list(devices))
                    .execution_options(synchronize_session=False)
                )
                if rowcount(updated) == 0:
                    session.add(
                        LaneRow(
                            id=lane_id,
                            worker_id=worker_id,
                            engine=engine,
                            devices=list(devices),
                            host=host,
                            pid=pid,
                            started_at=now,
                            heartbeat_at=now,
                        )
                    )

    def remove(self, worker_id: str) -> None:
        """A worker's clean stop: its lanes are gone at once, not after going stale."""
        with Session(self._engine) as session, session.begin():
            session.execute(sa.delete(LaneRow).where(LaneRow.worker_id == worker_id))

    def running(self) -> list[LaneRecord]:
        """Lanes whose worker beat recently, oldest first."""
        cutoff = self._clock() - self.stale_after
        with Session(self._reader) as session:
            rows = session.scalars(
                sa.select(LaneRow).where(LaneRow.heartbeat_at >= cutoff).order_by(LaneRow.started_at, LaneRow.id)
            ).all()
            return [
                LaneRecord(
                    worker_id=row.worker_id,
                    engine=row.engine,
                    devices=tuple(row.devices),
                    host=row.host,
                    pid=row.pid,
                    started_at=row.started_at,
                    heartbeat_at=row.heartbeat_at,
                )
                for row in rows
            ]

    def processes_by_engine(self) -> dict[str, int]:
        """Engine -> how many engine processes running workers give it."""
        counts: dict[str, int] = {}
        for lane in self.running():
            counts[lane.engine] = counts.get(lane.engine, 0) + len(lane.devices)
        return counts

    def prune(self, older_than: timedelta = timedelta(hours=1)) -> int:
        """Forget lanes of workers that died long ago."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(
                sa.delete(LaneRow)
                .where(LaneRow.heartbeat_at < self._clock() - older_than)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)
