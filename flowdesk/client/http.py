"""The REST API over HTTP: token authentication, problem+json errors, retries of transient
failures (connection errors, 429 and 5xx) where a request is safe to repeat."""

import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

# Lets the server tell the command-line client's calls apart (and see its version).
USER_AGENT = f"flowdesk-cli/{version('flowdesk')}"
# Submitting and acting answer the brief ticket unless asked; the commands show the whole one
# (its fields and open tasks, and as it is with --output json).
WHOLE_TICKET = {"expand": "ticket"}


class ApiError(Exception):
    """A request that failed: the problem document's detail and its per-field errors.

    `status` is None when the server could not be reached at all.
    """

    def __init__(self, status: int | None, detail: str, *, errors: dict | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.errors: dict[str, list[str]] = {
            field: messages if isinstance(messages, list) else [str(messages)]
            for field, messages in (errors or {}).items()
        }

    @property
    def transient(self) -> bool:
        """Worth retrying: the server was unreachable, overloaded or failed."""
        return self.status is None or self.status == 429 or self.status >= 500


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (0-based): doubling from base up to cap."""
    return min(base * 2**attempt, cap)


class Client:
    """One Flowdesk server, as one user (the token's)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.sleep = sleep or time.sleep
        self.http = httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            transport=transport,
            timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    # --- resources --------------------------------------------------------------------------

    def get_ticket(self, sn: str, *, attempts: int = 3) -> dict:
        return self.request("GET", f"/api/v1/tickets/{quote(sn, safe='')}/", attempts=attempts)

    def create_ticket(self, payload: dict, *, idempotency_key: str) -> dict:
        # The key makes a repeated POST return the ticket the first one created, so retrying
        # after a lost response cannot file the release twice.
        return self.request(
            "POST",
            "/api/v1/tickets/",
            params=WHOLE_TICKET,
            json=payload,
            headers={"Idempotency-Key": idempotency_key},
            attempts=3,
        )

    def todo(self, *, ticket: str | None = None) -> list[dict]:
        """The caller's open tasks (optionally on one ticket), every page of them."""
        params = {"todo": "1", **({"ticket": ticket} if ticket else {})}
        page = self.request("GET", "/api/v1/tasks/", params=params, attempts=3)
        tasks = list(page["results"])
        while page.get("next"):
            page = self.request("GET", self._same_origin(page["next"]), attempts=3)
            tasks += page["results"]
        return tasks

    def act(
        self,
        task_id: int,
        action: str,
        *,
        fields: dict,
        comment: str,
        override_reason: str | None = None,
    ) -> dict:
        # Not retried: a repeat after a lost response would be refused as already handled.
        body = {"fields": fields, "comment": comment}
        if override_reason is not None:
            body["override_reason"] = override_reason
        return self.request(
            "POST", f"/api/v1/tasks/{task_id}/{action}/", params=WHOLE_TICKET, json=body
        )

    def upload(self, path: Path) -> dict:
        """Store a file on the server; the answer's `id` goes in an attachment field."""
        # Read whole, so a retry sends it again; an upload repeated after a lost answer only
        # leaves an unreferenced file behind.
        content = path.read_bytes()
        return self.request(
            "POST", "/api/v1/attachments/", files={"file": (path.name, content)}, attempts=3
        )

        # --- plumbing ---------------------------------------------------------------------------

    def request(self, method: str, path: str, *, attempts: int = 1, **kwargs: Any) -> Any:
        """The response's JSON; ApiError on failure, after `attempts` tries of transient ones."""
        failures = 0
        while True:
            try:
                return self._once(method, path, **kwargs)
            except ApiError as exc:
                failures += 1
                if not exc.transient or failures >= attempts:
                    raise
                self.sleep(backoff(failures - 1, 1, 30))

    def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(None, f"cannot reach {self.url}: {exc or type(exc).__name__}") from exc
        if response.is_error:
            raise problem(response)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                response.status_code,
                f"{self.url} did not answer with JSON – is it the Flowdesk server's address?",
            ) from None

    def _same_origin(self, url: str) -> str:
        """A pagination link on this server: a proxy may name the backend's own host in it,
        and the token must never go to another host."""
        link = httpx.URL(url)
        return str(
            link.copy_with(scheme=self.http.base_url.scheme, netloc=self.http.base_url.netloc)
        )


def problem(response: httpx.Response) -> ApiError:
    """The ApiError a failed response describes (problem+json, or whatever a proxy sent)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail") or body.get("title")
    if not detail:  # not the API answering: say where, so a wrong FLOWDESK_URL shows
        request = response.request
        detail = (
            f"{response.status_code} {response.reason_phrase} from {request.method} {request.url}"
        )
    errors = body.get("errors")
    return ApiError(
        response.status_code, str(detail), errors=errors if isinstance(errors, dict) else None
    )
