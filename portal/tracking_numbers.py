"""Tracking numbers in the UPU S10 form: two letters, eight digits, a check digit, "CA".

The check digit weighs the eight digits 8 6 4 2 3 5 9 7; 11 minus the sum modulo 11 gives it,
except that 10 becomes 0 and 11 becomes 5 (UPU standard S10). Shared: returns issues them,
billing's demo history names the labels it charged.
"""

import secrets

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
SERVICE_PREFIX = "RR"  # returns; the letters after the first are free in S10


def check_digit(serial: str) -> int:
    """The S10 check digit of eight digits."""
    if len(serial) != 8 or not serial.isascii() or not serial.isdigit():
        raise ValueError(f"an S10 serial is eight digits, not {serial!r}")
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def is_valid(number: str) -> bool:
    """Whether `number` is a well-formed Canadian S10 number with the right check digit."""
    if len(number) != 13 or not number.endswith("CA") or not number[:2].isalpha():
        return False
    digits = number[2:11]
    if not (digits.isascii() and digits.isdigit()) or not number[:2].isupper():
        return False
    return check_digit(digits[:8]) == int(digits[8])


def tracking_number(serial: int) -> str:
    """The number of an eight-digit serial, e.g. 12345678 → "RR123456785CA"."""
    digits = f"{serial:08d}"
    return f"{SERVICE_PREFIX}{digits}{check_digit(digits)}CA"


def new_tracking_number() -> str:
    """A fresh random number (uniqueness is the database's to enforce)."""
    return tracking_number(secrets.randbelow(10**8))
