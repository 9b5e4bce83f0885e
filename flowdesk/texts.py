"""Texts of workflow documents (`"..."` or `{en, zh}`) in the reader's language."""

from django.utils.translation import get_language


def localized(value: object, fallback: str = "", language: str | None = None) -> str:
    """`value` in `language` (default: the active one), falling back to English."""
    if isinstance(value, dict):
        lang = (language or get_language() or "en").lower()
        key = "zh" if lang.startswith("zh") else "en"
        return str(value.get(key) or value.get("en") or fallback)
    return str(value) if value else fallback
