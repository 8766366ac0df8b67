"""JWT with asymmetric keys (RS256).

Registration signs unit tokens, review signs admin tokens; every service verifies with
the public key alone. Claims: sub, role, unit_id, delegation_id, exp, iat, iss; a unit's
token also names its edition (`edn`), and `ro` marks a session of a previous edition that may
only read (every service refuses its other requests: shared.http.require).
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
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
               "operations", "gate_staff", "host_organisation_admin")


def generate_keypair(private_path: Path, public_path: Path) -> None:
    """Write a new RSA key pair atomically (several processes may start at once)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_private = private_path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp_public = public_path.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
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


AUDIENCE = "accr"
ISSUED_ROLES = {  # who may issue a token for which role
    "registration": UNIT_ROLES + ("returning",),
    "review": ADMIN_ROLES,
}


def issuer_claim(issuer: str) -> str:
    return f"accr-{issuer}"


def issue_token(subject: str, role: str, issuer: str, unit_id: str | None = None,
                delegation_id: str | None = None, ttl: dt.timedelta = dt.timedelta(hours=8),
                version: int = 0, edition: str | None = None, read_only: bool = False) -> str:
    """A token for `subject` in `role`, signed by `issuer` (registration or review). `version`
    is the account's token version: raising it (password reset, deactivation, deletion)
    makes every earlier token invalid. `edition`: the edition whose records the session
    reaches; `read_only`: a closed (previous) edition's session, which may only read."""
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": subject, "role": role, "unit_id": unit_id, "delegation_id": delegation_id,
              "iss": issuer_claim(issuer), "aud": AUDIENCE, "ver": version, "iat": now, "exp": now + ttl}
    if edition is not None:
        claims["edn"] = edition
    if read_only:
        claims["ro"] = True
    return jwt.encode(claims, private_key(), algorithm=ALGORITHM)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    unit_id: str | None
    delegation_id: str | None
    version: int = 0
    edition: str | None = None  # the edition the session belongs to (unit tokens)
    read_only: bool = False  # a closed edition's session: it may read, not change

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def closed_for(self, active_edition: str | None) -> bool:
        """True when this session may only read: a previous edition's login, or a token
        issued for an edition that is no longer the deployment's active one (issued before
        operations opened the next edition)."""
        return self.read_only or bool(self.edition and active_edition and self.edition != active_edition)


# Tokens already verified by this process, with their expiry: a session's every request
# presents the same token, and checking its RSA signature again each time is most of what
# authenticating a request costs. Keyed by the verifying key too (a new key pair verifies
# afresh); bounded, emptied when full.
_VERIFIED_MAX = 4096
_verified: dict[tuple[str, bytes], tuple[Principal, float]] = {}


def verify_token(token: str) -> Principal:
    """The principal of a token we issued for us: signature, expiry, audience, and a role
    that its issuer may grant. (Revocation is the services' own check, on every request.)"""
    key = public_key()
    known = _verified.get((token, key))
    if known is not None and known[1] > time.time():
        return known[0]
    principal, expires = _verify(token, key)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(token, key)] = (principal, expires)
    return principal


def _verify(token: str, key: bytes) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=[issuer_claim(i) for i in ISSUED_ROLES],
                            options={"require": ["exp", "iat", "sub", "role", "iss", "aud"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    issuer = str(claims["iss"]).removeprefix("accr-")
    if claims["role"] not in ISSUED_ROLES.get(issuer, ()):
        raise Unauthorized("invalid token")
    version = claims.get("ver", 0)
    edition = claims.get("edn")
    return Principal(claims["sub"], claims["role"], claims.get("unit_id"), claims.get("delegation_id"),
                     version if isinstance(version, int) else 0,
                     edition if isinstance(edition, str) else None, claims.get("ro") is True), float(claims["exp"])
