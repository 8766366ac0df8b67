"""JWT with asymmetric keys (RS256).

Registration signs unit tokens, review signs admin tokens; every service verifies with
the public key alone. Claims: sub, role, unit_id, delegation_id, exp, iat, iss.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import data_dir, env
from .errors import Unauthorized

ALGORITHM = "RS256"
UNIT_ROLES = ("unit_contact", "unit_member")
ADMIN_ROLES = ("sub_delegation_admin", "delegation_secretariat", "organising_committee", "finance",
               "operations", "gate_staff")


def generate_keypair(private_path: Path, public_path: Path) -> None:
    """Write a new RSA key pair atomically (several processes may start at once)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_private = private_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_public = public_path.with_suffix(f".{os.getpid()}.tmp")
    tmp_private.write_bytes(private_pem)
    os.chmod(tmp_private, 0o600)
    tmp_public.write_bytes(public_pem)
    try:
        os.link(tmp_public, public_path)  # first writer wins; the pair stays consistent
        os.replace(tmp_private, private_path)
    except FileExistsError:
        tmp_private.unlink()
    finally:
        tmp_public.unlink(missing_ok=True)


def key_paths() -> tuple[Path, Path]:
    default = data_dir() / "jwt"
    return (Path(env("JWT_PRIVATE_KEY_FILE", str(default / "private.pem"))),
            Path(env("JWT_PUBLIC_KEY_FILE", str(default / "public.pem"))))


@functools.lru_cache(maxsize=None)
def _read(path: str) -> bytes:
    """A key file's bytes, read once per process; another process may still be writing
    the pair at first start, so wait a little for it."""
    for _ in range(50):
        if Path(path).exists():
            return Path(path).read_bytes()
        time.sleep(0.1)
    raise RuntimeError(f"JWT key missing at {path}")


def public_key() -> bytes:
    private_path, public_path = key_paths()
    if env("JWT_PUBLIC_KEY_FILE") is None and not public_path.exists():
        generate_keypair(private_path, public_path)  # zero-setup one-machine run
    return _read(str(public_path))


def private_key() -> bytes:
    public_key()  # generates the pair where that is allowed
    return _read(str(key_paths()[0]))


def issue_token(subject: str, role: str, issuer: str, unit_id: str | None = None,
                delegation_id: str | None = None, ttl: dt.timedelta = dt.timedelta(hours=8)) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": subject, "role": role, "unit_id": unit_id, "delegation_id": delegation_id,
              "iss": issuer, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, private_key(), algorithm=ALGORITHM)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    unit_id: str | None
    delegation_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


def verify_token(token: str) -> Principal:
    try:
        claims = jwt.decode(token, public_key(), algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "role"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    return Principal(claims["sub"], claims["role"], claims.get("unit_id"), claims.get("delegation_id"))
