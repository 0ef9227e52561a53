"""Counters of failed link attempts in the shared cache, and the lock-out they lead to.

Counted per user, per IP address and per customer number, each with its own limit
(settings.PORTAL_LINK_FAILURE_LIMITS) over a sliding-enough window
(PORTAL_LINK_FAILURE_WINDOW seconds). Reaching a limit locks that key for
PORTAL_LINK_LOCKOUT_SECONDS. What a lock means is the caller's rule (accounts.services.linking):
a locked user or address is refused; a locked customer number asks for a second factor, so
strangers' guesses never lock out the person whose details are right. The cache is shared by
every web process (Redis in production), so the limits hold across machines.
"""

import datetime
import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

Key = tuple[str, str]  # (scope, value): ("user", "42"), ("ip", "203.0.113.9"), ...


def link_keys(*, user_id: int, ip: str | None) -> list[Key]:
    """The keys of the person trying: their profile and their address."""
    keys: list[Key] = [("user", str(user_id))]
    if ip:
        keys.append(("ip", ip))
    return keys


def number_keys(customer_number: str) -> list[Key]:
    """The key of the typed customer number (none when nothing was typed)."""
    return [("customer_number", customer_number)] if customer_number else []


def locked_until(keys: Iterable[Key]) -> datetime.datetime | None:
    """The latest end of a lock-out on any of `keys`, or None when none is locked."""
    stamps = cache.get_many([_lock_key(key) for key in keys]).values()
    ends = [datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC) for stamp in stamps]
    future = [end for end in ends if end > timezone.now()]
    return max(future, default=None)


def note_failure(keys: Iterable[Key]) -> datetime.datetime | None:
    """Count one failure on each key; returns the lock-out end when a limit was just reached."""
    limits = settings.PORTAL_LINK_FAILURE_LIMITS
    window = settings.PORTAL_LINK_FAILURE_WINDOW
    locked = None
    for key in keys:
        if count(key, window=window) >= limits[key[0]]:
            locked = _lock(key)
    return locked


def limit_of(key: Key) -> int:
    return int(settings.PORTAL_LINK_FAILURE_LIMITS[key[0]])


def count(key: Key, *, window: int) -> int:
    """Add one to `key`'s counter; the counter starts with its first hit and lasts `window` s."""
    name = _counter_key(key)
    cache.add(name, 0, timeout=window)
    try:
        return cache.incr(name)
    except ValueError:  # expired between add() and incr()
        cache.set(name, 1, timeout=window)
        return 1


def hit_limit(key: Key, *, limit: int, window: int) -> bool:
    """For plain request rate limits (the removal-link pages): True once `limit` is passed."""
    return count(key, window=window) > limit


def _lock(key: Key) -> datetime.datetime:
    seconds = settings.PORTAL_LINK_LOCKOUT_SECONDS
    until = timezone.now() + datetime.timedelta(seconds=seconds)
    cache.set(_lock_key(key), until.timestamp(), timeout=seconds)
    cache.delete(_counter_key(key))  # a fresh count once the lock-out ends
    return until


def _digest(key: Key) -> str:
    # Hashed: IP addresses and typed numbers never appear in cache keys, whatever the backend.
    return hashlib.sha256(f"{key[0]}:{key[1]}".encode()).hexdigest()[:32]


def _counter_key(key: Key) -> str:
    return f"accounts:throttle:count:{_digest(key)}"


def _lock_key(key: Key) -> str:
    return f"accounts:throttle:lock:{_digest(key)}"
