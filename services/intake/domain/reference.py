"""Short human references such as HQ-7KX2-94: easy to read out on the phone."""

from __future__ import annotations

import random
import re

# Crockford base32 without I, L, O, U: nothing a caller can mishear or misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE = re.compile(r"^HQ-[0-9A-HJKMNP-TV-Z]{4}-\d{2}$")


def new_reference(rng: random.Random | None = None) -> str:
    r = rng or random.SystemRandom()
    body = "".join(r.choice(ALPHABET) for _ in range(4))
    return f"HQ-{body}-{r.randrange(100):02d}"


def looks_like_reference(text: str) -> bool:
    return bool(REFERENCE.match(text.strip().upper()))


def canonical_reference(text: str) -> str:
    return text.strip().upper()
