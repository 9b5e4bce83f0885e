"""Release packages for the demo workflow's checksum step, served by a real HTTP server.

The demo workflow downloads the submitted package and checks its MD5 before test
confirmation, so every test that goes past submit names a package that really downloads. The
server is bound when this module is imported (its port fixes the URLs the tests' constants use)
and serves for the whole session (`package_server`, autouse in tests/conftest.py).
"""

import hashlib
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flowdesk.automation import runner

# The demo's own package (the one `make run` serves) and a rebuilt one for resubmissions.
PACKAGES = Path(__file__).resolve().parents[1] / "flowdesk/demo/static/demo/packages"
PACKAGE_FILE = PACKAGES / "game-a-server-2.4.1.tar.gz"
FIXED_FILE = "game-a-server-2.4.1-fix.tar.gz"
FIXED_BYTES = b"Game A server 2.4.1, rebuilt after the failed test\n" * 100


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(directory: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    server.daemon_threads = True
    return server


def _files(tmp: Path) -> Path:
    """A directory holding both packages (the demo's is linked, not copied)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / PACKAGE_FILE.name).unlink(missing_ok=True)
    (tmp / PACKAGE_FILE.name).symlink_to(PACKAGE_FILE)
    (tmp / FIXED_FILE).write_bytes(FIXED_BYTES)
    return tmp


_server = _serve(_files(Path(tempfile.mkdtemp(prefix="flowdesk-packages-"))))
BASE_URL = f"http://127.0.0.1:{_server.server_address[1]}"

PACKAGE_URL = f"{BASE_URL}/{PACKAGE_FILE.name}"
PACKAGE_MD5 = hashlib.md5(PACKAGE_FILE.read_bytes()).hexdigest()
FIXED_URL = f"{BASE_URL}/{FIXED_FILE}"
FIXED_MD5 = hashlib.md5(FIXED_BYTES).hexdigest()


@pytest.fixture(scope="session", autouse=True)
def package_server() -> Iterator[str]:
    """Serve the packages for the session; the server's base URL."""
    thread = threading.Thread(target=_server.serve_forever, daemon=True)
    thread.start()
    yield BASE_URL
    _server.shutdown()
    _server.server_close()


def run_automation() -> int:
    """What the worker does after a commit, for tests inside a transaction (where nothing is
    committed, so no task is queued): run the automation steps that are due, e.g. the check."""
    return runner.sweep()
