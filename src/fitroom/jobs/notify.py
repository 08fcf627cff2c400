"""In-process wake-ups between workers and waiting requests.

Workers in the same process signal here when a job is queued or ends, so an idle worker
starts at once and a ``wait_for_result`` request answers at once, without polling the
database in a tight loop. Processes that share only the database (``fitroom worker`` on
another machine) fall back to the short polling intervals of their callers.
"""

from __future__ import annotations

import asyncio


class JobNotifier:
    """Wake-ups for "a job was queued" and "job X ended". Bound to one event loop."""

    def __init__(self) -> None:
        self._queued = asyncio.Event()
        self._ended: dict[str, asyncio.Event] = {}

    def job_queued(self) -> None:
        self._queued.set()

    async def wait_for_queued(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._queued.wait(), timeout)
        except TimeoutError:
            pass
        self._queued.clear()

    def job_ended(self, job_id: str) -> None:
        event = self._ended.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait_for(self, job_id: str, timeout: float) -> None:
        """Return when ``job_id`` ends in this process or ``timeout`` passes."""
        event = self._ended.setdefault(job_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            if self._ended.get(job_id) is event and not event.is_set():
                # Keep the event only while someone may still wait on it.
                self._ended.pop(job_id, None)
