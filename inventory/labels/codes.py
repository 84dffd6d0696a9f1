"""Label codes: 16 characters of Crockford's base 32 (no I, L, O, U), 80 random bits.

What a person types is read leniently: O as 0, I and L as 1, any case, spaces and dashes ignored.
"""

import secrets

LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL_LENGTH = 16
LABEL_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})


# Each random byte names a character by its low five bits: 256 is a multiple of 32, so every
# character is equally likely, as secrets.choice would make it, at a fraction of the cost.
_BY_BYTE = bytes(ord(LABEL_ALPHABET[byte % 32]) for byte in range(256))


def new_label() -> str:
    """A fresh label code: random, unguessable, unrelated to any id."""
    return secrets.token_bytes(LABEL_LENGTH).translate(_BY_BYTE).decode()


def normalize_label(text: str) -> str:
    """What a person typed or a scanner read, as a label code."""
    return text.upper().translate(LABEL_LOOK_ALIKES)


def format_label(label: str) -> str:
    """A label in groups of four, for reading aloud and typing."""
    return "-".join(label[i:i + 4] for i in range(0, len(label), 4))


def one_slip_apart(typed: str, label: str) -> bool:
    """Could ``typed`` be ``label`` with one slip of the hand: one character wrong, or two
    neighbours swapped? (A label missing or gaining a character is caught by its length.)"""
    if len(typed) != len(label) or typed == label:
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, label, strict=True)) if a != b]
    if len(differ) == 1:
        return True
    return (len(differ) == 2 and differ[1] == differ[0] + 1
            and typed[differ[0]] == label[differ[1]] and typed[differ[1]] == label[differ[0]])
