"""State changes of API tokens."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from flowdesk.api.models import ApiToken, hash_token, new_token_value


def do_create_token(
    user: AbstractBaseUser, *, name: str = "", actor: AbstractBaseUser | None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw value, which is shown only once."""
    raw = new_token_value()
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10]
        )
    return token, raw
