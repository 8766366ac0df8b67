"""`GET /api/registration/fair`: the active profile's public part, for anyone."""
from __future__ import annotations

from shared.fair import fair


def test_the_fair_endpoint_answers_the_active_profiles_public_part(apps):
    r = apps["registration"].get("/fair")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["key"] == fair().key == "ciie"
    assert body["name"]["zh"] == "中国国际进口博览会"
    assert body["edition"]["id"] == "CIIE-2026" and body["edition"]["first_day"] == "2026-11-05"
    assert [e["id"] for e in body["previous_editions"]] == ["CIIE-2025", "CIIE-2024"]
    assert body["photo"]["min_size"] == [480, 640]
    assert [b["id"] for b in body["badge_types"]] == ["visitor", "staff", "vip"]
    assert "delegations" not in body
