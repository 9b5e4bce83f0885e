"""The `flowdesk` command: Django's management commands under one name.

`flowdesk serve` runs the development server; everything else (`migrate`, `demo`, `workflow ...`,
`directory import`, `token create`, `createsuperuser`, and the HTTP client's `ticket` and `task`)
is the management command of that name.
"""

import os
import sys
import tempfile

# The HTTP client's commands touch no database and sign nothing: keep them from creating a data
# dir and a secret key in whatever directory a build agent runs them from.
CLIENT_COMMANDS = {"ticket", "task"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowdesk.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in CLIENT_COMMANDS:
        os.environ.setdefault("FLOWDESK_DATA_DIR", tempfile.mkdtemp(prefix="flowdesk-client-"))
        os.environ.setdefault("FLOWDESK_SECRET_KEY", "client-commands-sign-nothing")
    if args[:1] == ["serve"]:
        args = ["runserver", *_serve_args(args[1:])]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["flowdesk", *args])


def _serve_args(args: list[str]) -> list[str]:
    """`serve [--port N] [--host H]` → runserver's `H:N` address."""
    import argparse

    parser = argparse.ArgumentParser(prog="flowdesk serve")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    opts = parser.parse_args(args)
    return [f"{opts.host}:{opts.port}"]


if __name__ == "__main__":
    main()
