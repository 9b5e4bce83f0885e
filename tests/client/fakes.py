"""A scripted Flowdesk server for client tests: httpx.MockTransport answering from a list."""

import httpx

SN = "CRQ20261127000001"
TEST_CONFIRM = {"id": "test_confirm", "name": "Test confirmation"}
RELEASE = {"id": "release", "name": "Release"}


def ticket(status: str = "running", *nodes: dict, end_reason: str | None = None, **extra) -> dict:
    """A ticket as the API returns it, reduced to what the client reads."""
    return {
        "sn": SN,
        "title": "Release server 2.4.1",
        "status": status,
        "service": {"key": "app-release", "name": "Application release"},
        "business": "game-a",
        "requester": "pm_alice",
        "end_reason": end_reason,
        "fields": {},
        "current_nodes": list(nodes),
        "tasks": [],
        "snapshots": [],
        "actions": [],
        **extra,
    }


def problem(status: int, detail: str, **extra) -> httpx.Response:
    return httpx.Response(
        status,
        json={"title": "error", "status": status, "detail": detail, **extra},
        headers={"Content-Type": "application/problem+json"},
    )


class Server:
    """Answers each request with the next scripted response (the last one repeats)."""

    def __init__(self, *answers: dict | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
