"""Hiding the native libraries' log lines that tell a user nothing.

MediaPipe's graphs and TensorFlow Lite write to the process's standard error from C++
(``INFO: Created TensorFlow Lite XNNPACK delegate``, ``W0000 ... inference_feedback_
manager.cc ...``), below Python and deaf to every environment variable meant to quiet
them. ``quiet_native_logs`` puts a pipe in front of file descriptor 2 and forwards every
line except those; ``FITROOM_ENGINE_LOGS=1`` shows them again.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

# glog/absl lines ("W0000 00:00:1795336114.276455   12088 file.cc:114] ..."), TFLite's
# INFO line, and absl's notice about its own initialisation.
NATIVE_LINE = re.compile(rb"^(?:[IWE]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\]|INFO: Created TensorFlow Lite"
                         rb"|WARNING: All log messages before absl::InitializeLog)")


def _forward(read_end: int, target: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NATIVE_LINE.match(line))
            if kept:
                os.write(target, kept)
        if pending and not NATIVE_LINE.match(pending):
            os.write(target, pending)


@contextmanager
def quiet_native_logs(enabled: bool = True) -> Iterator[None]:
    """While the block runs, drop native log lines from standard error (the process's,
    and that of any process it starts meanwhile); everything else still gets through."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, original), name="native-logs", daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes this process's end of the pipe: the forwarder drains and ends
        forwarder.join(timeout=2)
        os.close(original)


_for_good: list[AbstractContextManager[None]] = []


def quiet_native_logs_for_good(enabled: bool = True) -> None:
    """``quiet_native_logs`` for the rest of this process (engine processes)."""
    if enabled and not _for_good:
        context = quiet_native_logs(True)
        context.__enter__()
        # Held, never exited: a dropped context manager would be collected, and its
        # generator's ``finally`` would put standard error back at once.
        _for_good.append(context)
        # At exit, forward what is still in the pipe before the process ends.
        atexit.register(context.__exit__, None, None, None)
