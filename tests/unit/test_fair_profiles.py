"""Fair profiles are data: each loads and checks itself, and answers the questions services ask."""
from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from marshmallow import ValidationError

from shared import fair as fairs
from shared.fair import FairProfile, ProfileSchema, load_profile


@pytest.mark.parametrize("key", fairs.FAIRS)
def test_every_profile_loads_and_names_its_current_edition(key):
    profile = load_profile(key)
    assert profile.key == key
    assert profile.edition().id == profile.data["current_edition"]
    assert profile.edition().days and profile.edition().days[0] <= profile.edition().days[-1]


def test_the_default_fair_is_ciie(monkeypatch):
    monkeypatch.delenv("FAIR", raising=False)
    assert fairs.fair_key() == "ciie"
    monkeypatch.setenv("FAIR", "CIFTIS")
    assert fairs.fair_key() == "ciftis"


def test_an_unknown_fair_is_refused():
    with pytest.raises(ValueError, match="FAIR must be one of"):
        load_profile("canton")


def test_ciie_rules_come_from_its_profile():
    ciie = load_profile("ciie")
    assert ciie.badges_for("unit") == ("visitor", "staff", "vip")
    assert ciie.free_badges() == ("staff", "vip") == ciie.quota_badges()
    assert ciie.fee_for("visitor") == 20000 and ciie.fee_for("vip") == 0
    assert ciie.photo["min_size"] == [480, 640] and ciie.photo["max_bytes"] < 1024 * 1024
    assert ciie.document_rule("government") is None
    assert ciie.document_rule("enterprise")["max_bytes"] == 2 * 1024 * 1024
    assert ciie.review["automatic"] and not ciie.review["personnel_review"]
    assert [d["id"] for d in ciie.data["delegations"]][:1] == ["GD"]
    assert sum(d["target"] for d in ciie.data["delegations"] if d["parent_id"] == "GD") == 3500


def test_ciftis_profile_rules_follow_the_seed():
    ciftis = load_profile("ciftis")
    photo = ciftis.photo
    assert photo["exact_size"] == [600, 800] and photo["min_bytes"] == 50 * 1024 and photo["max_bytes"] == 500 * 1024
    assert ciftis.data["host_licence"]["max_bytes"] == 300 * 1024
    assert ciftis.data["unit_fields"]["introduction"] == {"min": 50, "max": 1000}
    assert ciftis.data["unit_fields"]["fortune500"] is True
    # online-only exhibitors get no badge; invited and non-invited attendees do
    assert ciftis.badges_for("exhibitor_online") == ()
    assert ciftis.badges_for("exhibitor_onsite") == ("exhibitor",)
    assert set(ciftis.badges_for("attendee_open")) == {"delegate", "buyer"}
    assert set(ciftis.badges_for(fairs.HOST_ORGANISATION)) == {"delegate", "guest", "host_staff"}
    assert ciftis.visitor_kind("exhibitor_onsite")["invitation"] == "required"
    assert ciftis.visitor_kind("attendee_open")["invitation"] == "none"
    assert ciftis.review["first_level"] == "host_organisation_admin"
    assert ciftis.review["second_level"] == "organising_committee" and ciftis.review["personnel_review"]
    assert ciftis.fee_for("exhibitor") == 0


def test_editions_follow_one_another():
    ciie = load_profile("ciie")
    assert [e.id for e in ciie.previous_editions("CIIE-2026", ciie.data["reuse_editions"])] == ["CIIE-2025", "CIIE-2024"]
    assert ciie.next_edition("CIIE-2026").id == "CIIE-2027"
    assert ciie.next_edition(ciie.editions[-1].id) is None
    # an edition the profile does not list keeps the current one's days
    assert ciie.edition("CIIE-2099").days == ciie.edition().days
    assert ciie.edition("CIIE-2025").days[0] == dt.date(2025, 11, 5)


def _broken(mutate):
    data = json.loads((fairs.PROFILE_DIR / "ciie.json").read_text(encoding="utf-8"))
    mutate(data)
    return data


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(current_edition="CIIE-1999"), "current_edition"),
    (lambda d: d["badge_types"][0].update(holders=["nobody"]), "badge_types"),
    (lambda d: d["badge_types"][0].update(id="a_far_too_long_label"), "badge_types"),
    (lambda d: d["photo"].update(formats=["GIF"]), "photo"),
    (lambda d: d.pop("visitor_kinds"), "visitor_kinds"),
])
def test_a_broken_profile_is_refused_with_the_field_named(mutate, field):
    with pytest.raises(ValidationError) as err:
        ProfileSchema().load(_broken(mutate))
    assert field in err.value.messages


def test_the_public_part_carries_no_seed_data_or_review_roles():
    ciftis = load_profile("ciftis")
    public = ciftis.public()
    text = json.dumps(public, ensure_ascii=False)
    assert "delegations" not in public and "host_organisation_admin" not in text
    assert public["edition"]["id"] == "CIFTIS-2027" and public["previous_editions"][0]["id"] == "CIFTIS-2026"
    assert {b["id"] for b in public["badge_types"]} == {"exhibitor", "delegate", "buyer", "guest", "host_staff"}
    assert fairs.PublicFairSchema().dump(public)["photo"]["exact_size"] == [600, 800]


def test_events_accept_every_fairs_badge_types():
    from shared.events import LABELS
    assert {"visitor", "vip", "staff", "exhibitor", "buyer", "host_staff"} <= set(LABELS)


def test_a_profile_is_read_only_data():
    ciie = load_profile("ciie")
    copy_ = FairProfile(copy.deepcopy(ciie.data))
    assert copy_.badge_ids() == ciie.badge_ids()
