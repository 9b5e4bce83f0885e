"""The `flowdesk` command: Django's management commands under one name.

`flowdesk serve` runs the development server (`--with-worker`: and a background worker beside
it, see `supervise`); everything else (`migrate`, `demo`, `worker`, `workflow ...`, `directory
import`, `token create`, `createsuperuser`, and the HTTP client's `ticket` and `task`) is the
management command of that name.
"""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

# The HTTP client's commands touch no database and sign nothing: keep them from creating a data
# dir and a secret key in whatever directory a build agent runs them from.
CLIENT_COMMANDS = {"ticket", "task"}
STOP_GRACE_SECONDS = 30  # the worker finishes the message in hand (FLOWDESK_EMAIL_TIMEOUT)
STEADY_SECONDS = 60  # a worker that ran this long is restarted at once, else with backoff
MAX_RESTART_PAUSE = 30.0


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowdesk.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in CLIENT_COMMANDS:
        os.environ.setdefault("FLOWDESK_DATA_DIR", tempfile.mkdtemp(prefix="flowdesk-client-"))
        os.environ.setdefault("FLOWDESK_SECRET_KEY", "client-commands-sign-nothing")
    if args[:1] == ["serve"]:
        address, with_worker = _serve_args(args[1:])
        if with_worker:
            sys.exit(supervise([sys.executable, "-m", "flowdesk"], ["runserver", address]))
        args = ["runserver", address]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["flowdesk", *args])


def _serve_args(args: list[str]) -> tuple[str, bool]:
    """`serve [--port N] [--host H] [--with-worker]` → runserver's `H:N` address, and whether
    to run a worker beside it."""
    import argparse

    parser = argparse.ArgumentParser(prog="flowdesk serve")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--with-worker", action="store_true", help="also run a background worker (make run)"
    )
    opts = parser.parse_args(args)
    return f"{opts.host}:{opts.port}", opts.with_worker


def supervise(flowdesk: list[str], serve: list[str]) -> int:
    """Run the web server and one worker as child processes until Ctrl-C or SIGTERM, then stop
    both (the worker finishes the message in hand); a worker that dies is started again, with
    a growing pause when it keeps dying. Returns the server's exit code when it stops by itself.

    Each child runs in its own process group, so a Ctrl-C reaches only this process, which then
    interrupts each child's group once, as a terminal's Ctrl-C would (a second signal would make
    the worker stop without finishing; the server's autoreloader takes its own child down)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = _spawn("web server", [*flowdesk, *serve])
    worker = _spawn("worker", [*flowdesk, "worker"])
    started, restart_at, pause = time.monotonic(), None, 1.0
    while not stop.wait(0.5) and server.poll() is None:
        if restart_at is None and worker.poll() is not None:
            steady = time.monotonic() - started >= STEADY_SECONDS
            pause = 1.0 if steady else min(pause * 2, MAX_RESTART_PAUSE)
            restart_at = time.monotonic() + pause
            _say(f"the worker exited with code {worker.returncode}; restarting it in {pause:g} s")
        elif restart_at is not None and time.monotonic() >= restart_at:
            worker = _spawn("worker", [*flowdesk, "worker"])
            started, restart_at = time.monotonic(), None
    _stop_children([server, worker])
    return 0 if stop.is_set() else server.returncode


def _spawn(name: str, argv: list[str]) -> subprocess.Popen:
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0)
    _say(f"{name} started (pid {child.pid})")
    return child


def _stop_children(children: list[subprocess.Popen]) -> None:
    """Interrupt each running child's group; SIGKILL what is left after the grace period."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        os.killpg(child.pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in running:
        try:
            child.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            _say(f"pid {child.pid} did not stop within {STOP_GRACE_SECONDS} s; killing it")
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _say(message: str) -> None:
    print(f"flowdesk: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
