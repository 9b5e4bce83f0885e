"""Downloads are typed by their content, never by what the uploader declared."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from flowdesk.security.files import content_disposition, sniff_content_type
from flowdesk.tickets.actions import do_upload_attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
WEBP = b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 20


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\0", "image/gif"),
        (b"GIF87a\x01\0", "image/gif"),
        (WEBP, "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        ("发布说明 ✓\n".encode(), "text/plain; charset=utf-8"),
        (b"<html><script>alert(1)</script>", "text/plain; charset=utf-8"),  # shown, not run
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "text/plain; charset=utf-8",
        ),
        (b"text with a \0 NUL", "application/octet-stream"),
        (b"\xff\xfe latin-1 \xe9", "application/octet-stream"),
        (b"RIFF\0\0\0\0WAVE", "application/octet-stream"),
        (b"MZ\x90\0", "application/octet-stream"),
        (b"", "text/plain; charset=utf-8"),
    ],
)
def test_sniffed_types(content, expected):
    stream = io.BytesIO(content)
    assert sniff_content_type(stream) == expected
    assert stream.tell() == 0  # rewound for the download


def test_a_multibyte_character_cut_by_the_sample_is_still_text():
    content = b"a" * (64 * 1024 - 1) + "é".encode()  # é's second byte falls past the sample
    assert sniff_content_type(io.BytesIO(content)) == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("declared", "content", "served"),
    [
        ("image/png", b"<script>alert(1)</script>", "text/plain; charset=utf-8"),
        ("text/plain", PNG, "image/png"),
        ("application/pdf", b"MZ\x90\0\0", "application/octet-stream"),
        ("image/svg+xml", b"<svg onload=alert(1)/>", "text/plain; charset=utf-8"),
    ],
)
def test_downloads_ignore_the_declared_type(client, users, declared, content, served):
    upload = SimpleUploadedFile("f.bin", content, content_type=declared)
    attachment = do_upload_attachment(upload, actor=users.pm_alice)
    client.force_login(users.pm_alice)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response["Content-Type"] == served
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == content


def test_content_disposition_has_an_ascii_stand_in_and_the_utf8_name():
    header = content_disposition('发布 "说明";\\.txt')
    assert header == (
        'attachment; filename="__ ______.txt"; '
        "filename*=UTF-8''%E5%8F%91%E5%B8%83%20%22%E8%AF%B4%E6%98%8E%22%3B%5C.txt"
    )
