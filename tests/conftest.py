"""Shared fixtures: the demo scenario loaded through the same actions `flowdesk demo` uses."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from flowdesk.catalog.models import Service
from flowdesk.demo.loader import load_demo
from tests.packages import package_server  # noqa: F401  (autouse, session)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (row locks, real concurrency): run with "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user; tests set many passwords and test none of that."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path_factory):
    """Uploaded files go to a temporary directory, never into the data directory."""
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"


@pytest.fixture
def immediate_tasks(settings):
    """Background tasks run in this process as soon as they are enqueued (after each commit),
    as a worker would run them a moment later."""
    backend = "django_tasks.backends.immediate.ImmediateBackend"
    settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": settings.TASK_QUEUES}}


@pytest.fixture
def demo(db):
    """The seed scenario: Game A/B people and roles, the app-release workflow and service."""
    return load_demo("pw-for-tests")


class _Users:
    """`users.pm_alice` – a demo user by name."""

    def __getattr__(self, username: str):
        return get_user_model().objects.get(username=username)


@pytest.fixture
def users(demo) -> _Users:
    return _Users()


@pytest.fixture
def release_service(demo) -> Service:
    return Service.objects.get(key="app-release")
