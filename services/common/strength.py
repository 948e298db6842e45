"""Is a configured secret long and random? For values an operator chooses once and the
platform then trusts for good (PLATFORM_BOOTSTRAP_KEY, an HQ admin key nobody issued).

This is not a password meter (zxcvbn and its kin rate what people make up): the values
here are meant to come from a random generator, so what is refused is what a person
types instead: short strings, one character or a short block repeated, runs such as
abcdef or 123456, and the placeholders of examples and templates."""
from __future__ import annotations

MIN_LENGTH = 32
# 32 random hex digits show 14 different ones on average, fewer than 8 in about 4 draws of 10⁸.
MIN_DISTINCT = 8
# Placeholders of templates and examples, looked for anywhere in the value (lower case).
PLACEHOLDERS = ("change-me", "changeme", "change_me", "example", "placeholder", "password", "secret", "default",
                "insecure", "dev-only", "your-key", "your_key", "xxxxxxxx")
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(\"ak_\" + secrets.token_urlsafe(32))'"


def _repeats_a_block(value: str) -> bool:
    # A string is a block repeated exactly when it occurs inside itself doubled, off its own start.
    return value in (value + value)[1:-1]


def _patterned_share(value: str) -> float:
    """The share of characters that go on a run of equal steps: aaa, abc, 975."""
    steps = [ord(b) - ord(a) for a, b in zip(value, value[1:], strict=False)]
    runs = sum(1 for a, b in zip(steps, steps[1:], strict=False) if a == b)
    return runs / max(1, len(steps) - 1)


def weakness(value: str, *, min_length: int = MIN_LENGTH) -> str | None:
    """Why `value` is not a long random secret (English), or None when it may be one."""
    if len(value) < min_length:
        return f"it has {len(value)} characters; at least {min_length} are needed"
    lowered = value.lower()
    for word in PLACEHOLDERS:
        if word in lowered:
            return f"it holds the placeholder {word!r} of an example or template"
    if len(set(value)) < MIN_DISTINCT:
        return f"it uses only {len(set(value))} different characters"
    if _repeats_a_block(value):
        return "it is one short block repeated"
    # A random value has a few such spots by chance (1 in 16 for hex, 1 in 64 for base64).
    if _patterned_share(value) > 0.25:
        return "it is largely runs of repeated or consecutive characters"
    return None


def refuse_weak(name: str, value: str | None) -> None:
    """Raise ValueError saying why the setting `name` is weak and how to make a good one."""
    if value is None:
        return
    reason = weakness(value)
    if reason is not None:
        raise ValueError(f"{name} 必须是足够长的随机值 / must be long and random: {reason}. "
                         f"Make one with {HOW_TO_MAKE_ONE} (or openssl rand -hex 32).")
