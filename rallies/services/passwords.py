"""Password policy: a minimum length and checks against common and guessable passwords.

The common-password list ships as ``rallies/data/common-passwords.txt`` (see its header and
``scripts/build_common_passwords.py`` for where it comes from). It is read once, on first use.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 200

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"

# A few entries kept in code so the policy still works if the data file is missing.
_BUILT_IN = {
    "password", "password1", "password123", "123456789", "1234567890", "qwertyuiop", "iloveyou",
    "letmein123", "welcome123", "passw0rd", "administrator", "qwerty123", "1q2w3e4r5t", "abc1234567",
}

# "sunshine2024!" is "sunshine" with decoration; strip trailing digits and symbols to find the word.
_DECORATION = re.compile(r"[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-case (loaded once per process)."""
    words = set(_BUILT_IN)
    try:
        text = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8")
    except FileNotFoundError:
        return frozenset(words)
    words.update(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return frozenset(words)


def is_common(password: str) -> bool:
    """True if the password, or its word without trailing digits and symbols, is on the common list."""
    lowered = password.strip().lower()
    common = common_passwords()
    if lowered in common:
        return True
    base = _DECORATION.sub("", lowered)
    # The file leaves out short entries, but every listed word also appears with "123"/"1234" added.
    return len(base) >= 4 and any(candidate in common for candidate in (base, base + "123", base + "1234"))


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """A plain-words reason the password is not acceptable, or None.

    ``email`` and ``name`` are the account's own, which make poor passwords too.
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if len(set(lowered)) <= 2:
        return "That password repeats too few characters. Choose another."
    if is_common(password):
        return "That password is too common. Choose another."
    personal = {part for part in (email.strip().lower(), email.strip().lower().split("@")[0],
                                  name.strip().lower(), name.strip().lower().replace(" ", "")) if len(part) >= 4}
    if any(part in lowered for part in personal):
        return "Do not use your email address or name in your password."
    return None
