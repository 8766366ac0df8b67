"""The review desk walked by the roles that own it: two-level review with a return (the
sub-delegation approves first, the secretariat returns with a common reason, the unit
resubmits, both levels approve), the unit's full file with its document, photos and
masked ID numbers, and a batch decision."""
from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, admin_log_out, new_admin, new_delegation_pair, unit_for_review
from tests.browser.conftest import PHONE
from tests.browser.site import Site
from tests.infra import wait_for


def open_unit(site: Site, name: str, tab: str = "pending") -> None:
    site.go(f"/admin/review?status={tab}")
    site.fill("q", name)
    site.press("search")
    site.wait(lambda: name in site.main_text(), message=f"{name} in the queue")
    site.press("open-unit")
    site.wait_path("^/admin/review/units/")


def status_of(site: Site) -> str:
    return site.d.find_element(By.CSS_SELECTOR, ".page-head .badge").text


def test_two_level_review_with_a_return(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack, two_level=True)
    unit = unit_for_review(portal_stack, sub, people=2)
    sub_admin = new_admin(portal_stack, "sub_delegation_admin", sub)
    secretariat = new_admin(portal_stack, "delegation_secretariat", top)
    site = Site(browser(), portal_stack.url)

    # the sub-delegation reads the full file and approves at the first level
    admin_log_in(site, sub_admin)
    site.press("menu-admin_review.queue")
    site.wait_path("^/admin/review")
    open_unit(site, unit.name)
    assert unit.uscc in site.main_text() and status_of(site) == "待审核"
    site.wait(lambda: site.d.execute_script(
        "return [...document.querySelectorAll('img[data-test=person-photo], img[data-test=document-image]')]"
        ".every(i => i.complete && i.naturalWidth > 0)"), message="the document and photos to load")
    assert len(site.d.find_elements(By.CSS_SELECTOR, 'img[data-test="person-photo"]')) == 2
    ids = [e.text for e in site.d.find_elements(By.CSS_SELECTOR, '[data-test="person-id"]')]
    assert len(ids) == 2 and all("*" in i for i in ids)  # masked
    site.press("approve")
    site.wait(lambda: status_of(site) == "初审通过", message="approved at the first level")
    assert site.has('[data-test="awaiting-secretariat"]') and "待交易团秘书处确认" in site.main_text()
    admin_log_out(site)

    # the secretariat sees it waiting for confirmation and returns it with a common reason
    admin_log_in(site, secretariat)
    open_unit(site, unit.name, tab="first_approved")
    site.choose("template", "document_unclear")
    comment = site.field("comment").get_attribute("value")
    assert "资质证明" in comment or "证件" in comment, comment  # filled in from the reason, still editable
    site.fill("comment", comment + " 请同时核对单位名称。")
    site.press("return")
    site.wait_text("已退回")
    assert status_of(site) == "退回修改"
    history = site.d.find_element(By.CSS_SELECTOR, '[data-test="history"]').text
    assert "请同时核对单位名称" in history and "初审通过" in history
    wait_for(lambda: unit.portal.progress()["status"] == "returned", timeout=30, message="the unit to read the return")

    # the unit resubmits; both levels approve
    unit.portal.submit_unit()
    wait_for(lambda: unit.portal.call("GET", "registration/units/me", 200).json()["status"] == "submitted",
             timeout=30, message="resubmitted")
    admin_log_out(site)
    admin_log_in(site, sub_admin)
    site.wait_after_reload(lambda: (open_unit(site, unit.name) or True) and status_of(site) == "待审核", timeout=30)
    site.press("approve")
    site.wait(lambda: status_of(site) == "初审通过", message="approved at the first level again")
    admin_log_out(site)
    admin_log_in(site, secretariat)
    open_unit(site, unit.name, tab="first_approved")
    site.press("approve")
    site.wait(lambda: status_of(site) == "已通过", message="approved")
    history = site.d.find_element(By.CSS_SELECTOR, '[data-test="history"]').text
    assert history.count("单位提交") == 2 and history.count("初审通过") == 2
    wait_for(lambda: unit.portal.progress()["status"] == "approved", timeout=30, message="the unit to be approved")


def test_a_batch_return_on_a_phone(portal_stack, browser, logs_on_failure):
    top, sub = new_delegation_pair(portal_stack)
    units = [unit_for_review(portal_stack, sub) for _ in range(2)]
    secretariat = new_admin(portal_stack, "delegation_secretariat", top)
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, secretariat)
    site.go(f"/admin/review?delegation_id={sub}")
    site.wait(lambda: len(site.d.find_elements(By.CSS_SELECTOR, '[data-test="unit-row"]')) == 2)
    for unit in units:
        site.tick("unit_ids", site.d.find_element(
            By.XPATH, f'//tr[.//strong[text()="{unit.name}"]]').get_attribute("data-unit"))
    site.choose("action", "return")
    site.choose("template", "info_incomplete")
    site.press("batch-submit")
    site.wait_path("^/admin/review/batch")
    assert site.d.find_element(By.CSS_SELECTOR, '[data-test="batch-summary"]').text == "2 家单位中已处理 2 家。"
    assert len(site.d.find_elements(By.CSS_SELECTOR, '[data-ok="yes"]')) == 2
    assert site.fits_width()
    open_unit(site, units[0].name, tab="returned")  # the file on a phone: one column, nothing wider
    assert status_of(site) == "退回修改" and site.fits_width()
    site.go("/admin/personnel")
    assert site.fits_width()
    open_unit(site, units[1].name, tab="returned")


def test_a_secretariat_corrects_moves_and_deletes_a_unit(portal_stack, browser, logs_on_failure):
    from tests.browser.units import committee
    top, sub = new_delegation_pair(portal_stack)
    oc = committee(portal_stack)
    other = f"{top}-B"
    oc.call("POST", "review/delegations", 201, json={"id": other, "name": f"第二分团{top[-4:]}", "parent_id": top})
    unit = unit_for_review(portal_stack, sub)
    site = Site(browser(), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "delegation_secretariat", top))
    waiting = site.d.find_element(By.CSS_SELECTOR, '[data-test="waiting"] [data-key="pending"] .stat-n')
    assert waiting.text == "1"  # the home page says what waits
    waiting.find_element(By.TAG_NAME, "a").click()
    site.wait_path("^/admin/review")
    open_unit(site, unit.name)

    site.press("edit-open")
    site.fill("name", unit.name + "（更正）")
    site.press("edit-unit")
    site.wait_text("单位信息已修正")
    assert site.d.find_element(By.TAG_NAME, "h1").text == unit.name + "（更正）"

    site.choose("delegation_id", other)
    site.press("reassign")
    site.wait_text("单位已调整")
    assert f"第二分团{top[-4:]}" in site.d.find_element(By.CSS_SELECTOR, '[data-test="unit-info"]').text
    history = site.d.find_element(By.CSS_SELECTOR, '[data-test="history"]').text
    assert "信息已修正" in history and "调整所属交易团" in history

    site.press("delete-open")
    site.press("delete")
    assert "删除后无法恢复" in site.wait_error("confirm_delete")  # the box must be ticked first
    site.tick("confirm_delete", "on")
    site.press("delete")
    site.wait_path("^/admin/review$")
    site.wait_text("单位及其人员已删除")
    assert oc.call("GET", "review/queue", 200, params={"q": unit.uscc, "status": "all"}).json()["total"] == 0
    wait_for(lambda: unit.portal.call("GET", "registration/units/me").status_code in (401, 404),
             timeout=30, message="registration to delete the unit too (its sessions end)")
