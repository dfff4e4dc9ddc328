"""The one place that normalises email addresses."""


def normalise_email(value: str | None) -> str:
    """Trim surrounding space and lower-case the whole address."""
    return (value or "").strip().lower()
