"""Registration HTTP API: translates requests into domain calls."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import issue_token, require
from shared.http import current_runtime

from . import domain
from .models import Person
from .schemas import (
    AddPersonSchema, LoginSchema, PersonSchema, ProgressSchema, SignedUpSchema, SignUpSchema,
    SubmitUnitSchema, TokenSchema, UnitInfoSchema, UnitSchema,
)

bp = Blueprint("registration", __name__, description="Units, accounts and personnel")
UNIT = "unit_contact"


def _days():
    return domain.fair_days(current_runtime().settings.get("FAIR_DAYS"))


@bp.route("/units", methods=["POST"])
@bp.arguments(SignUpSchema)
@bp.response(201, SignedUpSchema)
def sign_up(data):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        unit = domain.sign_up(s, rt.outbox.emitter(s), data, rt.settings.edition)
        return {"unit_id": unit.id, "unit_code": unit.unit_code, "status": unit.status}


@bp.route("/auth/login", methods=["POST"])
@bp.arguments(LoginSchema)
@bp.response(200, TokenSchema)
def login(data):
    rt = current_runtime()
    with rt.db.transaction() as s:
        unit = domain.authenticate(s, data["uscc"], data["password"], rt.settings.edition)
        unit_id = unit.id
    return {"token": issue_token(unit_id, UNIT, "registration", unit_id=unit_id,
                                 delegation_id=unit.delegation_id), "unit_id": unit_id}


@bp.route("/units/me", methods=["GET"])
@bp.response(200, UnitSchema)
@require(UNIT)
def my_unit():
    with current_runtime().db.transaction() as s:
        return domain.get_unit(s, g.principal.unit_id)


@bp.route("/units/me/info", methods=["PATCH", "PUT"])
@bp.arguments(UnitInfoSchema)
@bp.response(200, UnitSchema)
@require(UNIT)
def save_info(changes):
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.save_unit_info(unit, UnitInfoSchema().dump(changes))


@bp.route("/units/me/personnel", methods=["POST"])
@bp.arguments(AddPersonSchema)
@bp.response(201, PersonSchema)
@require(UNIT)
def add_person(data):
    rt = current_runtime()
    submit = data.pop("submit")
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        person = domain.add_person(s, unit, data, _days())
        if submit:
            domain.submit_person(person, rt.outbox.emitter(s))
        return person


@bp.route("/units/me/personnel", methods=["GET"])
@bp.response(200, PersonSchema(many=True))
@require(UNIT)
def list_personnel():
    with current_runtime().db.transaction() as s:
        return list(s.scalars(select(Person).where(Person.unit_id == g.principal.unit_id)
                              .order_by(Person.created_at)))


@bp.route("/units/me/personnel/<person_id>/submit", methods=["POST"])
@bp.response(200, PersonSchema)
@require(UNIT)
def submit_person(person_id):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.submit_person(domain.get_person(s, unit, person_id), rt.outbox.emitter(s))


@bp.route("/units/me/submit", methods=["POST"])
@bp.arguments(SubmitUnitSchema)
@bp.response(200, UnitSchema)
@require(UNIT)
def submit_unit(data):
    rt = current_runtime()
    with rt.outbox.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        return domain.submit_unit(s, unit, rt.outbox.emitter(s), data["person_ids"])


@bp.route("/units/me/progress", methods=["GET"])
@bp.response(200, ProgressSchema)
@require(UNIT)
def my_progress():
    with current_runtime().db.transaction() as s:
        unit = domain.get_unit(s, g.principal.unit_id)
        people = list(s.scalars(select(Person).where(Person.unit_id == unit.id)))
        return domain.progress(unit, people)
