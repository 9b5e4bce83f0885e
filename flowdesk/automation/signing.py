"""Callback tokens and signatures.

A run that waits for a callback gets a token derived from the server's SECRET_KEY and the run,
so a worker that runs the attempt again after a crash sends the same callback URL. The other
system is given the URL holding it; the database keeps only the token's SHA-256 (reading the
database is not enough to call back). The callback's body must be signed with the step's named
secret: `X-Flowdesk-Signature: sha256=<hex of HMAC-SHA256(secret, raw body)>`.
"""

import hashlib
import hmac

from django.utils.crypto import salted_hmac

SIGNATURE_HEADER = "X-Flowdesk-Signature"
_PREFIX = "sha256="


def callback_token(run_id: int) -> tuple[str, str]:
    """(token, its hash) of a run: the token goes into the callback URL, the hash into the
    database."""
    token = salted_hmac("flowdesk.automation.callback", str(run_id), algorithm="sha256")
    return token.hexdigest(), hash_token(token.hexdigest())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The header value for `body` (what the other system sends)."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` signs `body` with `secret` (compared in constant time)."""
    if not header or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip().lower())
