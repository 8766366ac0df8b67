"""What worker logs say about a failure: the error's class and message, never SQL
parameters or anything that looks like an ID number or a phone."""
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from shared.errors import Conflict
from shared.logsafe import describe


def test_a_plain_error_is_named_with_its_message():
    assert describe(LookupError("registration does not know the unit yet")) == \
        "LookupError: registration does not know the unit yet"
    assert describe(Conflict("person_exists", "this person is already registered")) == \
        "Conflict: person_exists: this person is already registered"


def test_database_errors_show_the_drivers_words_not_the_statement_or_its_parameters():
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (id_number TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES ('11010519491231002X')"))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO people VALUES (:n)"), {"n": "11010519491231002X"})
    except IntegrityError as exc:
        described = describe(exc)
    assert described == "IntegrityError: UNIQUE constraint failed: people.id_number"
    assert "1101051949" not in described and "INSERT" not in described


def test_long_numbers_in_a_message_are_masked_and_only_the_first_line_is_kept():
    described = describe(ValueError("no unit for phone 13800138000 or id 11010519491231002X\nsecond line"))
    assert "13800138000" not in described and "11010519491231002X" not in described
    assert described == "ValueError: no unit for phone 138******00 or id 110*************2X"
