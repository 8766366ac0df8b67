import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from shared.crypto import FieldCipher, load_key
from shared.masking import mask_email, mask_id_number, mask_phone


def test_encrypt_round_trip_is_randomised_and_tamper_evident():
    cipher = FieldCipher(os.urandom(32))
    a, b = cipher.encrypt("11010519491231002X"), cipher.encrypt("11010519491231002X")
    assert a != b and "11010519491231002X" not in a
    assert cipher.decrypt(a) == "11010519491231002X"
    broken = a[:-2] + ("A" if a[-2] != "A" else "B") + a[-1]
    with pytest.raises(InvalidTag):
        cipher.decrypt(broken)


def test_lookup_hash_is_stable_and_keyed():
    key = os.urandom(32)
    assert FieldCipher(key).lookup_hash("x") == FieldCipher(key).lookup_hash("x")
    assert FieldCipher(key).lookup_hash("x") != FieldCipher(os.urandom(32)).lookup_hash("x")


def test_key_from_configuration_or_generated_once(tmp_path):
    configured = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    assert len(load_key(configured, tmp_path / "unused")) == 32
    generated = load_key(None, tmp_path / "k")
    assert load_key(None, tmp_path / "k") == generated
    with pytest.raises(ValueError):
        load_key(base64.urlsafe_b64encode(b"short").decode(), tmp_path / "unused")


def test_masks():
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_email("lilei@example.cn") == "l***@example.cn"
