"""Password policy: a length range, then zxcvbn's estimate of how guessable the password is.

zxcvbn (Dropbox's estimator) knows leaked-password frequency lists, dictionary words, names,
keyboard patterns, dates, repeats and sequences, and the account's own email and name.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 200
#: zxcvbn score 3: "safely unguessable", about 10^8 guesses or more.
MIN_SCORE = 3
#: zxcvbn refuses longer input; the first 72 characters decide (a longer password only gets stronger).
_ESTIMATE_CHARS = 72


def _personal(email: str, name: str) -> list[str]:
    email, name = email.strip().lower(), name.strip().lower()
    parts = {email, email.split("@")[0], name, name.replace(" ", ""), *name.split()}
    return [part for part in parts if len(part) >= 4]


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """A plain-words reason the password is not acceptable, or None.

    ``email`` and ``name`` are the account's own, which make poor passwords too.
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    personal = _personal(email, name)
    if any(part in password.lower() for part in personal):
        return "Do not use your email address or name in your password."
    estimate = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=personal)
    if estimate["score"] >= MIN_SCORE:
        return None
    patterns = {(m["pattern"], m.get("dictionary_name")) for m in estimate["sequence"]}
    if ("dictionary", "passwords") in patterns:
        return "That password is too common. Choose another."
    if any(pattern == "repeat" for pattern, _ in patterns):
        return "That password repeats too few characters. Choose another."
    return "That password is too easy to guess. Add another word or two."
