"""A unit of the closed previous edition (CIIE-2025) chooses that edition on the login page,
reads its records with a banner on every page, and a change is refused."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, SCREENSHOTS, save_screenshot
from tests.browser.site import Site
from tests.journey import random_phone, random_resident_id, random_uscc

# run with the stack's own configuration (its database, its data key), as a registration process
MAKE_LAST_EDITION_UNIT = """
import json, sys
from services.registration.bootstrap import bootstrap
from services.registration.domain import accounts, personnel
from shared.fair import fair
args = json.loads(sys.argv[1])
deps = bootstrap()
days = fair().edition("CIIE-2025").days
with deps.uow() as (s, emit):
    unit = accounts.sign_up(s, emit, {"uscc": args["uscc"], "password": "OldPassw0rd1", "name": args["name"],
        "visitor_kind": "unit", "region": "mainland", "category": "enterprise", "phone": args["phone"],
        "email": "old@example.cn", "delegation_id": "GD-GZ"}, "CIIE-2025")
    person = personnel.add_person(s, unit, {"name": "陈往届", "gender": "female", "region_type": "mainland",
        "id_type": "resident_id", "id_number": args["id_number"], "nationality": "CN", "mobile": None, "email": None,
        "position": None, "entry_dates": [days[1]], "exhibition_area": None, "pickup_method": "courier",
        "requested_label": "visitor", "privacy_consent": True}, days, deps.cipher)
    person.label, person.status, person.credential_no = "visitor", "delivered", "202500000777"
print(json.dumps({"unit_id": unit.id}))
"""


def test_a_closed_editions_unit_reads_its_records_read_only(portal_stack, browser):
    if not hasattr(portal_stack, "full_env"):
        pytest.skip("needs the stack's registration configuration (not PORTAL_TEST_URL)")
    uscc, name = random_uscc(), f"往届示例公司{uuid.uuid4().hex[:4]}"
    args = {"uscc": uscc, "name": name, "phone": random_phone(), "id_number": random_resident_id()}
    made = subprocess.run([sys.executable, "-c", MAKE_LAST_EDITION_UNIT, json.dumps(args)], capture_output=True,
                          text=True, timeout=120, env=portal_stack.full_env("registration"))
    assert made.returncode == 0, made.stderr[-2000:]

    site = Site(browser(DESKTOP), portal_stack.url)
    site.go("/login")
    labels = [o.text for o in site.field("edition").find_elements(By.TAG_NAME, "option")]
    assert labels[:3] == ["第9届进博会", "第8届进博会（已闭幕，只读）", "第7届进博会（已闭幕，只读）"], labels
    site.fill_many(uscc=uscc, password="OldPassw0rd1")  # the active edition has no such unit
    site.press("login-submit")
    site.wait_error("password")

    site.fill_many(uscc=uscc, password="OldPassw0rd1")
    site.choose("edition", "CIIE-2025")
    save_screenshot(site.d, SCREENSHOTS / "editions-login.png")
    site.press("login-submit")
    site.wait_path("^/unit$")
    banner = '[data-test="edition-closed"]'
    for path in ("/unit", "/personnel", "/unit/info", "/invoices", "/badges"):
        site.go(path)
        assert site.has(banner), path
        assert "第8届进博会" in site.d.find_element(By.CSS_SELECTOR, banner).text
    site.go("/personnel")
    assert "陈往届" in site.main_text()

    site.go("/unit/info")  # no button offers a change; saving anyway is refused, with the reason
    buttons = site.d.find_elements(By.CSS_SELECTOR, "#main form[method=post] button")
    assert buttons and not any(b.is_displayed() for b in buttons)
    site.d.execute_script("document.querySelector('#main form[method=post]').submit()")
    site.wait_text("本届已闭幕：记录可查看，不能修改。")
