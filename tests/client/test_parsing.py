"""`--field k=v` values and durations, as the client reads them from the command line."""

from argparse import ArgumentTypeError

import pytest

from flowdesk.client.parsing import (
    format_duration,
    merge_fields,
    parse_duration,
    parse_field,
    parse_fields_file,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("10s", 10), ("2m", 120), ("2h", 7200), ("1h30m", 5400), ("45", 45)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "10x", "2m 10s", "1h-5m", "m", "0s", "0"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ArgumentTypeError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.2, "200ms"), (59.9, "59s"), (130, "2m10s"), (3605, "1h5s"), (7200, "2h")],
)
def test_durations_print_in_the_form_they_are_read(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("title=Release 2.4.1", ("title", "Release 2.4.1")),
        ("count=3", ("count", 3)),
        ("ratio=0.5", ("ratio", 0.5)),
        ("ok=true", ("ok", True)),
        ('hosts=["a", "b"]', ("hosts", ["a", "b"])),
        ('meta={"k": 1}', ("meta", {"k": 1})),
        ('build="0042"', ("build", "0042")),  # quoting keeps digits a string
        ("version=2.4.1", ("version", "2.4.1")),
        ("md5=9e107d9d372bb6826bd81d3542a419d6", ("md5", "9e107d9d372bb6826bd81d3542a419d6")),
        ("scope=[east] servers", ("scope", "[east] servers")),  # not JSON: kept as text
        ("x=NaN", ("x", "NaN")),
        ("x=null", ("x", "null")),
        ("url=https://a/b?c=d", ("url", "https://a/b?c=d")),
        ("empty=", ("empty", "")),
    ],
)
def test_field_values(arg, expected):
    assert parse_field(arg) == expected


@pytest.mark.parametrize("arg", ["novalue", "=x", " =x"])
def test_a_field_needs_a_key_and_an_equals_sign(arg):
    with pytest.raises(ArgumentTypeError, match="key=value"):
        parse_field(arg)


def test_at_file_reads_the_value_as_text(tmp_path):
    path = tmp_path / "summary.txt"
    path.write_text("Rolled out\n42 servers\n", encoding="utf-8")
    assert parse_field(f"release_summary=@{path}") == (
        "release_summary",
        "Rolled out\n42 servers\n",
    )
    with pytest.raises(ArgumentTypeError, match="cannot read"):
        parse_field(f"release_summary=@{tmp_path / 'missing.txt'}")


def test_fields_file_must_be_a_json_object_and_field_flags_override_it(tmp_path):
    path = tmp_path / "fields.json"
    path.write_text('{"package_url": "https://a/x.tgz", "release_scope": "all"}')
    values = parse_fields_file(str(path))
    assert merge_fields(values, [("release_scope", "east"), ("n", 1)]) == {
        "package_url": "https://a/x.tgz",
        "release_scope": "east",
        "n": 1,
    }
    path.write_text("[1, 2]")
    with pytest.raises(ArgumentTypeError, match="JSON object"):
        parse_fields_file(str(path))
    path.write_text("{oops")
    with pytest.raises(ArgumentTypeError, match="not JSON"):
        parse_fields_file(str(path))
