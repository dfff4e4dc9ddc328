"""Password policy: a minimum length and a check against common passwords."""

from __future__ import annotations

MIN_LENGTH = 10

# A short built-in list; the auth work extends it from a shipped file.
_COMMON = {
    "password", "password1", "password123", "123456789", "1234567890", "qwertyuiop", "iloveyou",
    "letmein123", "welcome123", "passw0rd", "administrator", "qwerty123", "1q2w3e4r5t", "abc1234567",
}


def password_problem(password: str) -> str | None:
    """A plain-words reason the password is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 200:
        return "Use at most 200 characters."
    if password.lower() in _COMMON:
        return "That password is too common. Choose another."
    return None
