"""The lanes running workers register, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from fitroom.jobs.lanes import LaneStore
from tests.helpers import FakeClock


def test_lanes_are_running_while_their_worker_beats(engine: sa.Engine, clock: FakeClock) -> None:
    lanes = LaneStore(engine, heartbeat_seconds=5, clock=clock)
    lanes.beat("w1", "host-a", 11, {"cpu-clothing": ["cpu", "cpu"], "cpu-glasses": ["cpu"]})
    lanes.beat("w2", "host-b", 22, {"fashn-vton-1.5": ["cuda:0", "cuda:1"], "cpu-clothing": ["cpu"]})

    assert lanes.processes_by_engine() == {"cpu-clothing": 3, "cpu-glasses": 1, "fashn-vton-1.5": 2}
    gpu = next(lane for lane in lanes.running() if lane.engine == "fashn-vton-1.5")
    assert (gpu.worker_id, gpu.host, gpu.pid, gpu.devices) == ("w2", "host-b", 22, ("cuda:0", "cuda:1"))

    # w1 keeps beating, w2 stops: after a few missed beats its lanes no longer count.
    clock.advance(15)
    lanes.beat("w1", "host-a", 11, {"cpu-clothing": ["cpu", "cpu"], "cpu-glasses": ["cpu"]})
    assert lanes.processes_by_engine() == {"cpu-clothing": 3, "cpu-glasses": 1, "fashn-vton-1.5": 2}
    clock.advance(10)
    assert lanes.processes_by_engine() == {"cpu-clothing": 2, "cpu-glasses": 1}

    # A clean stop removes a worker's lanes at once; long-dead ones are pruned.
    lanes.remove("w1")
    assert lanes.processes_by_engine() == {}
    clock.advance(7200)
    assert lanes.prune() == 2
