"""``spacekit emulate`` as a server: the time to be ready, and the time of a create
over loopback (``http.client``, one keep-alive connection), plain, with ``--log``,
with ``--state`` and with ``--state`` holding 1,000 more spaces.

    python bench/emulate_served.py [CREATES]

The state file is written by a thread of its own, so ``--state`` should cost a
create almost nothing however large the state is (written within each request, it
cost 10 to 20 ms a create with 1,000 spaces).
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKEN = "bench-token-0123456789"


def measure(creates: int, *flags: str) -> tuple[float, float]:
    """Seconds to the printed start-up block; seconds a create."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "spacekit", "emulate", "neuroio", "--token", TOKEN, *flags]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    head = ""
    for line in child.stderr:
        head += line
        if "config file (" in line:
            break
    ready = time.perf_counter() - started
    found = re.search(r"at http://([\d.]+):(\d+);", head)
    assert found is not None, head
    connection = http.client.HTTPConnection(found.group(1), int(found.group(2)))
    headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for number in range(creates):
        connection.request("POST", "/v1/spaces/", json.dumps({"name": f"s{number}"}), headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 201, answer.status
    each = (time.perf_counter() - started) / creates
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=60)
    return ready, each


def main() -> None:
    creates = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    folder = Path(tempfile.mkdtemp())
    cases = {
        "plain": [],
        "--log": ["--log"],
        "--state": ["--state", str(folder / "small.json")],
        "--seed-spaces 1000 --state": ["--seed-spaces", "1000", "--state", str(folder / "large.json")],
    }
    for name, flags in cases.items():
        ready, each = measure(creates, *flags)
        print(f"{name:28} ready in {ready * 1000:5.0f} ms, a create {each * 1000:5.2f} ms")


if __name__ == "__main__":
    main()
