"""Talking to other systems: an HTTP call with bounded retries, one poll, a checksummed download.

Connection errors, timeouts and 5xx answers are retried with exponential backoff; a 4xx answer
is final (the request itself is wrong). `keep_alive` is called before every attempt and while
a download streams, so the run's lease outlives slow systems (see runner.py).
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from flowdesk.automation.models import BODY_LIMIT
from flowdesk.automation.rendering import AutomationError, Outgoing

RETRY_DELAY = 2.0  # seconds before the first retry; doubled each time
MAX_RETRY_DELAY = 60.0
CHUNK = 1024 * 1024
MAX_JSON = 1_000_000  # a longer answer is kept as text only
USER_AGENT = "Flowdesk-automation/1"

KeepAlive = Callable[[], None]


@dataclass(frozen=True)
class Answer:
    status: int
    text: str  # shortened
    data: Any  # the JSON body, or None when it is not JSON


class CallFailed(AutomationError):
    """The other system could not be reached or said no; `answer` is its last answer, if any."""

    def __init__(self, message: str, answer: Answer | None = None):
        super().__init__(message)
        self.answer = answer


def check_url(url: str) -> None:
    """Only http(s), and only the allowed hosts when FLOWDESK_AUTOMATION_ALLOWED_HOSTS is set
    (package URLs come from requesters: the list keeps the worker off internal addresses)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AutomationError(f"'{url}' is not an http or https URL.")
    allowed = settings.FLOWDESK_AUTOMATION_ALLOWED_HOSTS
    if allowed and parts.hostname.lower() not in allowed:
        raise AutomationError(
            f"The host '{parts.hostname}' is not in FLOWDESK_AUTOMATION_ALLOWED_HOSTS."
        )


def call(outgoing: Outgoing, *, timeout: float, retries: int, keep_alive: KeepAlive) -> Answer:
    """Send the request; the answer of the first attempt that gets a 2xx, else CallFailed
    saying what happened on the last attempt."""
    check_url(outgoing.url)
    what = f"{outgoing.method} {outgoing.url}"

    def attempt(client: httpx.Client) -> Answer:
        response = client.request(
            outgoing.method,
            outgoing.url,
            headers=outgoing.headers,
            **({"json": outgoing.body} if outgoing.body is not None else {}),
        )
        answer = _answer(response)
        if response.is_server_error:
            raise _Retry(f"{what} answered {response.status_code}", answer)
        if not response.is_success:
            raise CallFailed(f"{what} answered {response.status_code}: {answer.text[:300]}", answer)
        return answer

    return _with_retries(attempt, what, timeout=timeout, retries=retries, keep_alive=keep_alive)


def get_json(outgoing: Outgoing, *, timeout: float) -> Answer:
    """One GET of a status URL (a poll): no retries, the next poll is the retry."""
    check_url(outgoing.url)
    what = f"GET {outgoing.url}"
    try:
        with _client(timeout) as client:
            response = client.get(outgoing.url, headers=outgoing.headers)
    except httpx.TimeoutException:
        raise CallFailed(f"{what} timed out after {timeout:g}s") from None
    except httpx.HTTPError as error:
        raise CallFailed(f"{what} failed: {error}") from None
    answer = _answer(response)
    if not response.is_success:
        raise CallFailed(f"{what} answered {response.status_code}", answer)
    return answer


@dataclass(frozen=True)
class Digests:
    size: int
    md5: str
    sha256: str


def download_digests(
    url: str, *, timeout: float, retries: int, max_bytes: int, keep_alive: KeepAlive
) -> Digests:
    """Stream the file at `url`, computing its size, MD5 and SHA-256 on the way."""
    check_url(url)
    what = f"GET {url}"

    def attempt(client: httpx.Client) -> Digests:
        md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
        with client.stream("GET", url) as response:
            if response.is_server_error:
                raise _Retry(f"{what} answered {response.status_code}")
            if not response.is_success:
                raise CallFailed(f"{what} answered {response.status_code}")
            for chunk in response.iter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    limit = max_bytes // 2**20
                    raise CallFailed(f"The file at {url} is larger than {limit} MB.")
                md5.update(chunk)
                sha256.update(chunk)
                keep_alive()
        return Digests(size, md5.hexdigest(), sha256.hexdigest())

    return _with_retries(attempt, what, timeout=timeout, retries=retries, keep_alive=keep_alive)


class _Retry(Exception):
    def __init__(self, message: str, answer: Answer | None = None):
        super().__init__(message)
        self.answer = answer


def _with_retries(
    attempt: Callable[[httpx.Client], Any],
    what: str,
    *,
    timeout: float,
    retries: int,
    keep_alive: KeepAlive,
) -> Any:
    tries = max(retries, 0) + 1
    for number in range(1, tries + 1):
        keep_alive()
        try:
            with _client(timeout) as client:
                return attempt(client)
        except _Retry as error:
            problem, answer = str(error), error.answer
        except httpx.TimeoutException:
            problem, answer = f"{what} timed out after {timeout:g}s", None
        except httpx.HTTPError as error:
            problem, answer = f"{what} failed: {error}", None
        if number < tries:
            time.sleep(min(RETRY_DELAY * 2 ** (number - 1), MAX_RETRY_DELAY))
    attempts = "1 attempt" if tries == 1 else f"{tries} attempts"
    raise CallFailed(f"{problem} ({attempts}).", answer)


def _client(timeout: float) -> httpx.Client:
    # Redirects are followed (artifact stores hand out signed URLs), each one checked.
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [lambda request: check_url(str(request.url))]},
    )


def _answer(response: httpx.Response) -> Answer:
    text = response.text
    try:
        data = json.loads(text) if 0 < len(text) <= MAX_JSON else None
    except ValueError:
        data = None
    return Answer(response.status_code, text[:BODY_LIMIT], data)
