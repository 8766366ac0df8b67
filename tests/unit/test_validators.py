import datetime as dt

from hypothesis import given, settings, strategies as st

from shared.validators import (
    PROVINCE_CODES, USCC_AUTHORITIES, USCC_CHARSET, is_valid_resident_id, is_valid_uscc,
    resident_id_check_char, uscc_check_char,
)

# Published examples.
KNOWN_USCC = ["91350100M000100Y43", "91110000802100433B"]
KNOWN_IDS = ["11010519491231002X", "440524198001010013"]


def test_known_uscc_pass():
    for code in KNOWN_USCC:
        assert is_valid_uscc(code), code


def test_uscc_bad_check_character_fails():
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc("91350100M000100Y4")  # too short
    assert not is_valid_uscc("91350100m000100Y43")  # lower case
    assert not is_valid_uscc("91350100M000100I43")  # I is not in the charset
    assert not is_valid_uscc(None)  # type: ignore[arg-type]


def test_known_resident_ids_pass():
    for number in KNOWN_IDS:
        assert is_valid_resident_id(number), number


def test_resident_id_rules():
    assert not is_valid_resident_id("110105194912310021")  # wrong check digit
    assert not is_valid_resident_id("11010519491231002x")  # lower-case x
    # 1949-02-30 is no date: recompute the check so only the date is wrong.
    body = "11010519490230002"
    assert not is_valid_resident_id(body + resident_id_check_char(body))
    # A birth date tomorrow is not in the past.
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    body = "110105" + tomorrow.strftime("%Y%m%d") + "002"
    assert not is_valid_resident_id(body + resident_id_check_char(body))
    # Unknown province code.
    body = "99010519491231002"
    assert not is_valid_resident_id(body + resident_id_check_char(body))


uscc_body = st.builds(
    lambda a, b, area, rest: a + b + area + rest,
    st.sampled_from(sorted(USCC_AUTHORITIES)),
    st.sampled_from(USCC_CHARSET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_CHARSET, min_size=9, max_size=9),
)
valid_uscc = uscc_body.map(lambda body: body + uscc_check_char(body))


@settings(max_examples=300)
@given(valid_uscc)
def test_every_generated_uscc_is_valid(code):
    assert is_valid_uscc(code)


@settings(max_examples=300)
@given(valid_uscc, st.integers(0, 17), st.characters(codec="ascii"))
def test_every_single_character_corruption_of_uscc_fails(code, pos, char):
    if char == code[pos]:
        char = USCC_CHARSET[(USCC_CHARSET.index(code[pos]) + 1) % 31]
    corrupted = code[:pos] + char + code[pos + 1:]
    assert not is_valid_uscc(corrupted)


birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date.today())
id_body = st.builds(
    lambda prov, area, born, seq: prov + area + born.strftime("%Y%m%d") + seq,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    birth_dates,
    st.text(alphabet="0123456789", min_size=3, max_size=3),
)
valid_ids = id_body.map(lambda body: body + resident_id_check_char(body))


@settings(max_examples=300)
@given(valid_ids)
def test_every_generated_resident_id_is_valid(number):
    assert is_valid_resident_id(number)


@settings(max_examples=300)
@given(valid_ids, st.integers(0, 17), st.characters(codec="ascii"))
def test_every_single_character_corruption_of_resident_id_fails(number, pos, char):
    if char == number[pos]:
        char = "0123456789X"[("0123456789X".index(number[pos]) + 1) % 11]
    corrupted = number[:pos] + char + number[pos + 1:]
    assert not is_valid_resident_id(corrupted)
