"""Label codes: 16 characters of Crockford's base 32 (no I, L, O, U), 80 random bits.

What a person types is read leniently: O as 0, I and L as 1, any case, spaces and dashes ignored.
"""

import secrets

LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL_LENGTH = 16
LABEL_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})


def new_label() -> str:
    """A fresh label code: random, unguessable, unrelated to any id."""
    return "".join(secrets.choice(LABEL_ALPHABET) for _ in range(LABEL_LENGTH))


def normalize_label(text: str) -> str:
    """What a person typed or a scanner read, as a label code."""
    return text.upper().translate(LABEL_LOOK_ALIKES)


def format_label(label: str) -> str:
    """A label in groups of four, for reading aloud and typing."""
    return "-".join(label[i:i + 4] for i in range(0, len(label), 4))
