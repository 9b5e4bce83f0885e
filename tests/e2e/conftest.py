"""Browser tests: Playwright driving the Debian chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# there unless told that this is safe (it is: one thread drives both).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-for-tests"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.skip("needs the Debian chromium: apt-get install -y chromium fonts-wqy-microhei")
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": flags}


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """A laptop-sized window in a fixed time zone, so screenshots are stable."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "timezone_id": "Asia/Shanghai",
        "locale": "en-US",
    }


class Screenshots:
    """Page screenshots for docs/screenshots/, only when FLOWDESK_SCREENSHOTS=1."""

    enabled = os.environ.get("FLOWDESK_SCREENSHOTS") == "1"

    def take(self, page: object, name: str) -> None:
        if self.enabled:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots()
