"""The other core, for the independent parts of one try-on.

A cold try-on on an idle server ran on one core while the other waited, yet much of it
does not depend on the rest: the garment's cut-out and the person's pose, the photo's
shading and its skin, a top's sleeves and its torso. Those parts are handed here and run
beside the request's own thread (OpenCV and NumPy let go of the GIL while they work).

Only a request's own thread hands work here, and nothing handed here waits on anything
else handed here: however many requests share the pool, it cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cpu-engine-beside")


def beside(work: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Start ``work(*args, **kwargs)`` on the other core; its future's ``result()`` gives
    what it returned, or raises what it raised."""
    return _pool.submit(work, *args, **kwargs)
