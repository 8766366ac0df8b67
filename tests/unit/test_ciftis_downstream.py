"""Billing, credentials and notifications take the fair's names, badges and fees from its
profile: under FAIR=ciftis nothing says CIIE."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from shared import fair as fairs


@pytest.fixture
def ciftis(monkeypatch):
    monkeypatch.setenv("FAIR", "ciftis")
    fairs._cached.cache_clear()
    yield fairs.fair()
    monkeypatch.undo()
    fairs._cached.cache_clear()


def test_ciftis_messages_are_signed_with_its_own_name(ciftis):
    from services.notifications.domain import render, sms_code_text
    zh = render("unit_approved", "zh", {"unit_name": "北京示例服务有限公司", "contact_name": "王", "portal_url": "u"})
    en = render("unit_approved", "en", {"unit_name": "Example Services", "contact_name": "Wang", "portal_url": "u"})
    assert zh["sms"].startswith("【服贸会】") and zh["subject"].startswith("【服贸会】")
    assert en["sms"].startswith("[CIFTIS]")
    assert not any("进博" in t or "CIIE" in t for t in (*zh.values(), *en.values()))
    assert sms_code_text("signup", "zh", "123456").startswith("【服贸会】") and "123456" in sms_code_text(
        "signup", "zh", "123456")
    assert sms_code_text("login", "en", "******") == (
        "[CIFTIS] Your verification code is ******. It expires in 5 minutes; do not share it.")


def test_a_colleagues_new_password_is_not_called_a_code():
    from services.notifications.domain import sms_code_text
    text = sms_code_text("member_password", "zh", "Ab3dEf9h")
    assert "新密码为Ab3dEf9h" in text and "验证码" not in text and text.startswith("【进博会】")


def test_ciftis_upgrade_notices_name_its_badge_types(ciftis):
    from services.notifications.domain import labels_of
    names = labels_of({"from_label": "delegate", "to_label": "guest"})
    assert names == {"from_label_zh": "参会代表", "from_label_en": "Conference delegate",
                     "to_label_zh": "嘉宾", "to_label_en": "Guest"}


def test_ciftis_badges_are_free_in_billing(ciftis):
    from services.billing.domain.orders import fee_for
    assert fee_for("exhibitor", "unit", None) == 0 and fee_for("buyer", "unit", None) == 0


def test_ciie_keeps_its_fee_when_an_old_event_carried_none():
    from services.billing.domain.orders import fee_for
    assert fee_for("visitor", "unit", None) == 20000 and fee_for("vip", "unit", None) == 0
    assert fee_for("visitor", "unit", 30000) == 30000


def test_ciftis_cards_print_the_badge_type_in_its_colour(ciftis):
    from services.credentials.cards import badge_face, card_png
    assert badge_face("exhibitor") == ("参展商", "EXHIBITOR", (196, 90, 0))
    png = card_png({"label": "exhibitor", "name": "Wang Wei", "unit_name": "Example Services",
                    "fair": "CIFTIS 2027", "entry_dates": ["2027-09-08"], "credential_no": "202700000001"},
                   None, "ACCR2:202700000001:1:" + "A" * 26)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.getpixel((5, 5)) == (196, 90, 0)


def test_an_upgrade_goes_up_by_the_profiles_rank(ciftis):
    assert ciftis.badge_rank("guest") > ciftis.badge_rank("delegate") > ciftis.badge_rank("nothing")
