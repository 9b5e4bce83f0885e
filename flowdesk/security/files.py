"""Uploaded files: what a download is served as (by content, never the uploader's word) and
which file names are refused."""

import codecs
import unicodedata
from typing import BinaryIO
from urllib.parse import quote

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
# Bytes a file of each type starts with (WebP: "RIFF", 4 length bytes, then "WEBP").
MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
]
TEXT_SNIFF_BYTES = 64 * 1024  # text is judged by its start, like browsers and `file` do


def sniff_content_type(stream: BinaryIO) -> str:
    """The type to serve `stream` as: one of the image types and PDF by magic number, UTF-8
    text without NUL as text/plain, anything else (HTML and SVG are text) as bytes."""
    head = stream.read(TEXT_SNIFF_BYTES)
    stream.seek(0)
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if b"\0" in head:
        return OCTET_STREAM
    try:
        # final=False: a multi-byte character cut off at the end of the sample is fine.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return OCTET_STREAM
    return TEXT


def unsafe_file_name(name: str) -> str | None:
    """Why `name` is refused as a file name, or None. Path separators could escape a folder
    where a user saves it; control and format characters (NUL, newlines, the right-to-left
    override, zero-width characters) hide its real extension or break headers."""
    if not name.strip() or name.strip(". ") == "":
        return "The file has no name."
    if "/" in name or "\\" in name:
        return "A file name may not contain / or \\."
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in name):
        return "A file name may not contain control or invisible formatting characters."
    return None


def content_disposition(name: str) -> str:
    """`attachment` with the name for every browser: an ASCII stand-in, and the UTF-8 name."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;%' else "_" for ch in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
