"""Password hashing (argon2id), shared by every service that checks a password.

The cost is OWASP's recommended minimum (19 MiB, two passes) rather than argon2-cffi's
64 MiB default, and a process hashes at most a few passwords at once: thirty parallel
login tries must not exhaust a server's memory. Hashes made with other parameters still
verify (the parameters live in the hash)."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .config import env
from .errors import Unavailable

HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_SLOTS = threading.BoundedSemaphore(int(env("PASSWORD_HASH_CONCURRENCY", "2")))
_DUMMY = HASHER.hash("a password nobody has")


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    if not _SLOTS.acquire(timeout=10):
        raise Unavailable("busy", "the server is busy; try again in a moment")
    try:
        yield
    finally:
        _SLOTS.release()


def hash_password(password: str) -> str:
    with _slot():
        return HASHER.hash(password)


def password_matches(hashed: str | None, password: str) -> bool:
    """Whether `password` is the one `hashed` was made from. With no hash (no such account)
    the same work is done, so timing tells nobody which accounts exist."""
    with _slot():
        try:
            return HASHER.verify(hashed or _DUMMY, password) and hashed is not None
        except (VerifyMismatchError, InvalidHashError, VerificationError):
            return False
