import datetime as dt

import jwt
import pytest

from shared import auth
from shared.errors import Unauthorized


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(tmp_path / "k" / "private.pem"))
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(tmp_path / "k" / "public.pem"))
    auth._read.cache_clear()
    auth.generate_keypair(tmp_path / "k" / "private.pem", tmp_path / "k" / "public.pem")
    yield
    auth._read.cache_clear()


def test_token_round_trip_carries_role_and_scope():
    token = auth.issue_token("admin-1", "sub_delegation_admin", "review", delegation_id="d-7")
    p = auth.verify_token(token)
    assert p.role == "sub_delegation_admin" and p.delegation_id == "d-7" and p.is_admin


def test_expired_and_tampered_tokens_are_refused():
    expired = auth.issue_token("u", "unit_contact", "registration", ttl=dt.timedelta(seconds=-1))
    with pytest.raises(Unauthorized):
        auth.verify_token(expired)
    token = auth.issue_token("u", "unit_contact", "registration", unit_id="u1")
    head, body, sig = token.split(".")
    forged = jwt.encode({"sub": "u", "role": "finance", "exp": 9999999999}, "secret", algorithm="HS256")
    with pytest.raises(Unauthorized):
        auth.verify_token(forged)  # symmetric tokens are never accepted
    with pytest.raises(Unauthorized):
        auth.verify_token(head + "." + body + "." + sig[::-1])


def _signed(claims: dict) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    base = {"sub": "x", "iat": now, "exp": now + dt.timedelta(hours=1)}
    return jwt.encode({**base, **claims}, auth.private_key(), algorithm=auth.ALGORITHM)


def test_tokens_carry_issuer_audience_and_version():
    claims = jwt.decode(auth.issue_token("u", "unit_contact", "registration", unit_id="u", version=3),
                        options={"verify_signature": False})
    assert (claims["iss"], claims["aud"], claims["ver"]) == ("accr-registration", "accr", 3)
    assert auth.verify_token(auth.issue_token("u", "unit_contact", "registration", version=3)).version == 3


@pytest.mark.parametrize("claims", [
    {"role": "unit_contact", "iss": "accr-registration"},  # no audience
    {"role": "unit_contact", "iss": "accr-registration", "aud": "another-system"},
    {"role": "unit_contact", "iss": "somebody-else", "aud": "accr"},
    {"role": "organising_committee", "iss": "accr-registration", "aud": "accr"},  # registration grants no admin
    {"role": "unit_contact", "iss": "accr-review", "aud": "accr"},  # review grants no unit role
])
def test_tokens_from_the_wrong_issuer_or_for_another_audience_are_refused(claims):
    with pytest.raises(Unauthorized):
        auth.verify_token(_signed(claims))
