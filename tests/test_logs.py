"""Native log lines are dropped from standard error; everything else gets through."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import os, sys
from fitroom.logs import quiet_native_logs, quiet_native_logs_for_good
with quiet_native_logs():
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"W0000 00:00:1795336114.276455   12088 inference_feedback_manager.cc:114] Feedback\n")
    print("kept inside", file=sys.stderr)
print("kept after", file=sys.stderr)
quiet_native_logs_for_good()
import gc; gc.collect()
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
os.write(2, b"E0000 00:00:1.5   1 x.cc:1] native error\n")
print("kept for good", file=sys.stderr, flush=True)
"""


def test_native_lines_are_dropped_and_the_rest_kept() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[:3] == ["kept inside", "kept after", "kept for good"]
    assert "XNNPACK" not in done.stderr and "W0000" not in done.stderr and "absl" not in done.stderr
