"""The personnel desk: a batch 确认代付 within the delegation's centralised budget (the
budget shown before and after), 取消代付 for another, and a person found by the masked ID
number a list shows."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, new_admin, new_delegation_pair, unit_for_review
from tests.browser.site import Site
from tests.browser.units import committee
from tests.infra import wait_for


def test_a_batch_delegation_pays_confirmation_within_the_budget(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack, centralised_fen=100000)  # ¥1,000: five badges at ¥200
    unit = unit_for_review(portal_stack, sub, people=3)
    oc = committee(portal_stack)
    oc.call("POST", f"review/units/{unit.portal.unit_id}/approve", 200)
    wait_for(lambda: oc.call("GET", "review/personnel", 200, params={"unit_id": unit.portal.unit_id}).json()["total"]
             == 3, timeout=30, message="the people to await confirmation")
    secretariat = new_admin(portal_stack, "delegation_secretariat", top)
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, secretariat)
    site.press("menu-admin_personnel.index")
    site.wait_path("^/admin/personnel")
    left = site.d.find_element(By.CSS_SELECTOR, '[data-test="budget-left"]')
    assert left.text == "¥1,000.00" and "还可支付 5 人" in site.main_text()

    rows = site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-row"]')
    assert len(rows) == 3 and all("*" in r.text for r in rows)  # masked ID numbers
    chosen = [r.get_attribute("data-person") for r in rows[:2]]
    for person_id in chosen:
        site.tick("person_ids", person_id)
    site.press("confirm-delegation-pays")
    site.wait_text("交易团为 2 人代付")
    assert site.d.find_element(By.CSS_SELECTOR, '[data-test="budget-left"]').text == "¥600.00"
    remaining = site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-row"]')
    assert len(remaining) == 1 and remaining[0].get_attribute("data-person") not in chosen
    last = remaining[0].get_attribute("data-person")
    masked = remaining[0].find_element(By.CSS_SELECTOR, "td.mono").text
    site.tick("person_ids", last)
    site.press("cancel-delegation-pays")
    site.wait_text("1 人由单位自付")
    assert not site.has('[data-test="person-row"]') and "共 0 人" in site.main_text()

    site.press("tab-confirmed")
    site.wait(lambda: len(site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-row"]')) == 3)
    text = site.main_text()
    assert text.count("交易团代付") >= 2 and "单位自付" in text
    for person_id in chosen:
        wait_for(lambda: unit.portal.person(person_id)["payer"] == "delegation", timeout=30,
                 message="registration to know who pays")

    site.fill("q", masked)  # a person found by the masked number the list showed
    site.press("search")
    site.wait(lambda: len(site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-row"]')) == 1)
    assert site.d.find_element(By.CSS_SELECTOR, '[data-test="person-row"]').get_attribute("data-person") == last


def test_labels_and_upgrades_within_the_units_quota(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack)
    unit = unit_for_review(portal_stack, sub, people=2, labels=("vip", "visitor"), quota={"vip": 1, "staff": 0})
    oc = committee(portal_stack)
    oc.call("POST", f"review/units/{unit.portal.unit_id}/approve", 200)
    vip, visitor = (p["id"] for p in unit.people)
    wait_for(lambda: unit.portal.person(visitor)["status"] not in ("submitted",), timeout=30,
             message="the professional visitor to be confirmed (nothing to decide: the unit pays)")
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "delegation_secretariat", top))
    site.go("/admin/personnel?requested_label=vip")
    site.wait(lambda: len(site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-row"]')) == 1)
    site.tick("person_ids", vip)
    site.press("label-vip")
    site.wait_text("已将 1 人标记为贵宾")

    site.go("/admin/personnel?status=confirmed")  # the visitor cannot become VIP too: the one VIP is used
    row = f'[data-test="person-row"][data-person="{visitor}"]'
    site.wait(lambda: site.has(row))
    site.d.find_element(By.CSS_SELECTOR, f'{row} button[value="vip"]').click()
    site.wait_text("升级未成功")
    assert "额度已用完" in site.main_text()
    oc.call("PUT", f"review/quotas/{unit.uscc}", 200, json={"vip": 2, "staff": 0})
    site.d.find_element(By.CSS_SELECTOR, f'{row} button[value="vip"]').click()
    site.wait_text("该人员已升级为")
    wait_for(lambda: unit.portal.person(visitor)["label"] == "vip", timeout=30,
             message="registration to know the upgrade")
    site.go(f"/admin/review/units/{unit.portal.unit_id}")
    assert "已用 2 / 共 2" in site.d.find_element(By.CSS_SELECTOR, '[data-test="file-quota"]').text
