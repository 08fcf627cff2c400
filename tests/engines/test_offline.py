"""The CPU engines need no network at run time: every model comes from an installed wheel.

Each try-on runs in a fresh process whose audit hook refuses every socket operation
(connect, DNS lookup, bind...), so a model download or any other network use fails the
run instead of passing silently on a machine that happens to be online.
"""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import astronaut, drawn_tshirt, encode

NO_NETWORK = """
import sys
def refuse(event, args):
    if event.startswith("socket.") and event != "socket.__new__":
        raise OSError(f"network disabled for this test: {event}")
sys.addaudithook(refuse)
from fitroom.cli import app
app(sys.argv[1:])
"""


def run_offline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK, *args], capture_output=True, text=True, timeout=300
    )


def test_the_hook_really_blocks_the_network():
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_NETWORK.split("from fitroom")[0] + "import socket; socket.getaddrinfo('localhost', 80)",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "network disabled" in probe.stderr


def test_clothing_and_glasses_try_ons_run_with_the_network_disabled(tmp_path):
    person = tmp_path / "person.png"
    person.write_bytes(encode(astronaut()))
    garment = tmp_path / "garment.png"
    garment.write_bytes(encode(drawn_tshirt()))

    clothing = run_offline(
        "tryon", "--person", str(person), "--garment", str(garment), "--category", "upper",
        "--out", str(tmp_path / "clothing.png"),
    )
    assert clothing.returncode == 0, clothing.stderr[-2000:]
    glasses = run_offline("tryon", "--person", str(person), "--out", str(tmp_path / "glasses.png"))
    assert glasses.returncode == 0, glasses.stderr[-2000:]
    assert (tmp_path / "clothing.png").stat().st_size > 1000
    assert (tmp_path / "glasses.png").stat().st_size > 1000
