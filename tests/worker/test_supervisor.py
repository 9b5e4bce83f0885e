"""`flowdesk serve --with-worker` (what `make run` starts): the web server and one worker as
child processes; a worker that dies is started again; Ctrl-C stops both."""

import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import FLOWDESK, Site, free_port, wait_until

pytestmark = pytest.mark.slow  # real processes: seconds each, and a migrated database


def started(log: Path, name: str) -> list[int]:
    """The pids the supervisor reported starting `name` with, in order."""
    return [int(pid) for pid in re.findall(rf"{name} started \(pid (\d+)\)", log.read_text())]


def ready(log: Path) -> int:
    """How many workers have started working (each logs its sweeps once)."""
    return log.read_text().count("sweeps every")


def responds(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    except urllib.error.HTTPError:
        return True  # an answer all the same
    except OSError:
        return False
    return True


def group_runs(group: int) -> bool:
    """Whether a live (not zombie) process is left in the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            return True
    return False


def test_the_worker_is_restarted_and_ctrl_c_stops_both(site: Site, tmp_path: Path):
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen(
            [FLOWDESK, "serve", "--with-worker", "--port", str(port)],
            env=site.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_until(lambda: responds(port), 60, "the web server", log.read_text)
        wait_until(lambda: ready(log) == 1, 60, "the worker", log.read_text)
        (server,), (worker,) = started(log, "web server"), started(log, "worker")

        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: ready(log) == 2, 60, "a new worker", log.read_text)
        assert "the worker exited with code -9" in log.read_text()
        assert len(started(log, "worker")) == 2 and responds(port)

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=45) == 0, log.read_text()
        for group in (server, *started(log, "worker")):
            assert not group_runs(group), f"process group {group} still runs:\n{log.read_text()}"
        new = started(log, "worker")[1]
        assert re.search(rf"worker \S+-{new} stopped", log.read_text()), "not stopped cleanly"
    finally:
        if serve.poll() is None:  # the test failed: leave nothing running
            serve.kill()
            for group in started(log, "web server") + started(log, "worker"):
                if group_runs(group):
                    os.killpg(group, signal.SIGKILL)
