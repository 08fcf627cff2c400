"""Wake-ups between workers and waiting requests, in one process and across processes.

Workers signal here when a job is queued or ends, so an idle lane starts at once and a
``wait_for_result`` request answers at once, without polling the store in a tight loop.
With ``FITROOM_REDIS_URL`` the same wake-ups travel to every process of a cluster through
Redis pub/sub (``RedisRelay``): a job accepted by one API server wakes the worker on
another machine, and its end wakes the request waiting on a third. Without Redis, or
while it is away, processes fall back on the short polling intervals of their callers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable

log = logging.getLogger(__name__)

Hook = Callable[[str, str | None], None]  # (event: "queued" | "ended", job id or None)


class JobNotifier:
    """Wake-ups for "a job was queued" and "job X ended". Bound to one event loop."""

    def __init__(self) -> None:
        self._queued = asyncio.Event()
        self._ended: dict[str, asyncio.Event] = {}
        self.hooks: list[Hook] = []  # told of every local event (the Redis relay)

    def job_queued(self) -> None:
        self.wake_queued()
        for hook in self.hooks:
            hook("queued", None)

    def job_ended(self, job_id: str) -> None:
        self.wake_ended(job_id)
        for hook in self.hooks:
            hook("ended", job_id)

    def wake_queued(self) -> None:
        """This process's waiters only (an event from elsewhere)."""
        self._queued.set()

    def wake_ended(self, job_id: str) -> None:
        event = self._ended.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait_for_queued(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._queued.wait(), timeout)
        except TimeoutError:
            pass
        self._queued.clear()

    async def wait_for(self, job_id: str, timeout: float) -> None:
        """Return when ``job_id`` ends (here, or elsewhere with a relay) or ``timeout`` passes."""
        event = self._ended.setdefault(job_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            if self._ended.get(job_id) is event and not event.is_set():
                # Keep the event only while someone may still wait on it.
                self._ended.pop(job_id, None)


class RedisRelay:
    """Publishes this process's wake-ups on a Redis channel and delivers everyone else's."""

    CHANNEL = "fitroom:jobs"
    RETRY_SECONDS = 5.0

    def __init__(self, url: str, notifier: JobNotifier) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=1.0)
        self.notifier = notifier
        self.origin = uuid.uuid4().hex  # our own messages come back to us: skip them
        self._pending: set[asyncio.Task[None]] = set()
        notifier.hooks.append(self.publish)

    def publish(self, event: str, job_id: str | None) -> None:
        message = json.dumps({"from": self.origin, "event": event, "job": job_id})
        task = asyncio.ensure_future(self._publish(message))
        self._pending.add(task)  # held until done, or the loop could collect it mid-flight
        task.add_done_callback(self._pending.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self._redis.publish(self.CHANNEL, message)
        except Exception as exc:  # others fall back on polling; nothing is lost
            log.debug("could not publish a job event to Redis: %s", exc)

    async def run(self) -> None:
        """Deliver other processes' events until cancelled, reconnecting when Redis goes away."""
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.CHANNEL)
                    async for message in pubsub.listen():
                        self._deliver(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("job events from Redis interrupted (%s); polling until it answers again", exc)
                await asyncio.sleep(self.RETRY_SECONDS)

    def _deliver(self, data: bytes | str | None) -> None:
        try:
            message = json.loads(data or b"{}")
        except ValueError:
            return
        if message.get("from") == self.origin:
            return
        if message.get("event") == "queued":
            self.notifier.wake_queued()
        elif message.get("event") == "ended" and isinstance(message.get("job"), str):
            self.notifier.wake_ended(message["job"])

    async def aclose(self) -> None:
        await self._redis.aclose()
