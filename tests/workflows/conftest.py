"""The designer's fixtures (a signed-in workflow designer, a small saved draft), shared with the
designer's view tests in tests/web."""

from tests.web.test_designer import designer, small  # noqa: F401
