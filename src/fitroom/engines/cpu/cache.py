"""Per-process caches of image analyses, keyed by the image's content.

Shoppers try many garments and shops send the same product photos again and again, so
the analysis of an image (a person's pose, a garment's cut-out, a glasses frame) is
kept by content hash and paid for once. The hash is cryptographic, because the cache
is shared by every key's jobs and a collision must not hand one tenant's analysis to
another. It is SHA-256: every try-on hashes both photos, cached or not, and on CPUs
with SHA instructions (x86 since AMD Zen and Intel Ice Lake, ARMv8's crypto extension)
it hashes a 768×1024 photo in 1.3 ms against BLAKE2b's 2.5 (AMD EPYC, 2026-12).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

V = TypeVar("V")


def content_key(image: np.ndarray, *qualifiers: object) -> str:
    """A key for ``image``'s pixels (shape and dtype included) plus anything else the
    cached value depends on, such as the options it was computed with."""
    digest = hashlib.sha256(np.ascontiguousarray(image).data)
    digest.update(repr((image.shape, image.dtype.str, qualifiers)).encode())
    return digest.hexdigest()


class ContentCache(Generic[V]):
    """A thread-safe LRU map from content keys to computed values.

    Only successful computations are cached: an exception (no person found, say)
    propagates and is computed again next time. Two threads missing the same key at once
    both compute it; the values are equal, so the second simply replaces the first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: str, compute: Callable[[], V]) -> tuple[V, bool]:
        """The cached value for ``key`` (and True), or ``compute()``'s, now cached (and False)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key], True
        value = compute()
        self.put(key, value)
        return value, False

    def put(self, key: str, value: V) -> None:
        """Store (or replace) the value for ``key`` as the most recently used."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
