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


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch):
    token = auth.issue_token("u", "unit_contact", "registration", unit_id="u", ttl=dt.timedelta(seconds=30))
    first = auth.verify_token(token)
    calls = []
    real = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda t, k: calls.append(t) or real(t, k))
    assert auth.verify_token(token) == first and calls == []  # no second signature check
    later = auth.time.time() + 31

    def expired(t, k):  # what the signature check says of it by then
        calls.append(t)
        raise Unauthorized("token expired")
    monkeypatch.setattr(auth, "_verify", expired)
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized):  # past its expiry it is checked afresh, not remembered
        auth.verify_token(token)
    assert calls == [token]


def test_a_remembered_token_is_verified_again_under_a_new_key(monkeypatch, tmp_path):
    token = auth.issue_token("u", "unit_contact", "registration", unit_id="u")
    auth.verify_token(token)
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(tmp_path / "other" / "public.pem"))
    auth.generate_keypair(tmp_path / "other" / "private.pem", tmp_path / "other" / "public.pem")
    with pytest.raises(Unauthorized):  # signed by the old key: not ours any more
        auth.verify_token(token)
