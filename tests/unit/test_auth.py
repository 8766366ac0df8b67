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
