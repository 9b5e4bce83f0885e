"""The outbox's e-mail sender: one delivery → one message (text and HTML) over Django's mail
backend (SMTP when FLOWDESK_EMAIL_HOST is set, else the console).

Every attempt at a delivery carries the same Message-ID and `X-Flowdesk-Delivery` header, so a
message sent again after a worker died between sending and recording is recognisably the same.
"""

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from flowdesk.notify.models import Delivery
from flowdesk.notify.rendering import Message, render_emails

DELIVERY_HEADER = "X-Flowdesk-Delivery"


def message_id(key: str) -> str:
    """The Message-ID of every attempt at the delivery with this idempotency key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = urlsplit(settings.FLOWDESK_BASE_URL).hostname or "flowdesk.invalid"
    return f"<{digest}@{domain}>"


def build_email(delivery: Delivery, message: Message) -> EmailMultiAlternatives:
    mail = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[delivery.address],
        headers={"Message-ID": message_id(delivery.key), DELIVERY_HEADER: delivery.key},
    )
    mail.attach_alternative(message.html, "text/html")
    return mail


def prepare_emails(batch: list[Delivery]) -> None:
    """Render a batch's e-mails together, in a fixed number of queries for the whole batch;
    each delivery keeps its message (or its template's error) for `send_email`."""
    for delivery, rendered in zip(batch, render_emails(batch), strict=True):
        delivery.rendered = rendered


def send_email(delivery: Delivery) -> str:
    """Send one e-mail delivery, rendered by `prepare_emails` (else now); raises when its
    template fails or the mail server refuses or is down."""
    if not hasattr(delivery, "rendered"):
        prepare_emails([delivery])
    if isinstance(delivery.rendered, Exception):
        raise delivery.rendered
    mail = build_email(delivery, delivery.rendered)
    mail.send()
    return f"accepted for {delivery.address} as {mail.extra_headers['Message-ID']}"
