"""The whole journey through pages only: from the home page to two downloaded badges, in
Chinese on a desktop and in English on a phone-sized screen. Where a person would use
their phone (the SMS code, the payment app) the test opens the sandbox's phone pages."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.site import Site, licence_file, photo_file
from tests.journey import random_phone, random_resident_id, random_uscc

WORDS = {  # what the person reads on the page, per language
    "zh": {"home": "专业观众注册报名", "registered": "注册成功", "paid": "已支付", "approved": "已通过",
           "dispatched": "已寄出", "unit": "用户中心"},
    "en": {"home": "Professional visitor registration", "registered": "Your unit is registered", "paid": "Paid",
           "approved": "Approved", "dispatched": "Dispatched", "unit": "Go to my unit"},
}


def known_to_registry(stack, uscc: str, name: str) -> None:
    """The sandbox business registry knows the company, so review approves it automatically."""
    r = requests.put(f"{stack.url}/api/review/sandbox/registry/{uscc}", json={"name": name}, timeout=10)
    assert r.status_code == 200, r.text


def register_unit(site: Site, uscc: str, name: str, phone: str, password: str = "Passw0rd!") -> None:
    """新用户注册 on the sign-up page, reading the SMS code off the phone."""
    site.press("start-register") if site.has('[data-test="start-register"]') else site.go("/register")
    site.wait_path("^/register")
    site.choose("delegation_id", "GD-GZ")
    site.fill_many(name=name, uscc=uscc, email=f"contact-{uuid.uuid4().hex[:6]}@example.cn", phone=phone)
    site.fill("sms_code", site.send_code_and_read(phone))
    site.fill_many(password=password, password_confirm=password)
    site.tick("consent", "on")
    site.press("register-submit")
    site.wait_path("^/unit$")


def fill_unit_info(site: Site) -> None:
    site.go("/unit/info")
    site.fill_many(name_en="Example Trading Co., Ltd.", registered_address="1 Zhujiang Road, Guangzhou",
                   industry="Wholesale", contact_name="Li Lei", contact_mobile="13800138000",
                   registered_capital_10k_cny="500", nature="Private", turnover_last_year_10k_usd="120",
                   import_last_year_10k_usd="30", import_three_years_10k_usd="80")
    site.tick("import_modes", "general_trade")
    site.tick("purposes", "procure")
    site.tick("purposes", "find_partners")
    site.click_css("details.area summary")  # the first exhibition area: food and agriculture
    site.tick("area_food_agriculture", "dairy")
    site.press("info-continue")
    site.wait_path("^/personnel")


def upload_document(site: Site, folder) -> None:
    site.go("/unit/document")
    site.upload("document", licence_file(folder))
    site.wait(lambda: site.d.find_element("id", "f-document-preview").is_displayed(), 10, "the preview")
    site.press("document-upload")
    site.wait(lambda: site.has('[data-test="document-current"]'), message="the uploaded document")


def add_address(site: Site) -> None:
    site.go("/unit/addresses")
    site.fill_many(recipient="李雷", phone="13800138000", province="广东", city="广州", district="天河区",
                   detail="珠江路 1 号", postcode="510000")
    site.press("address-save")
    site.wait(lambda: site.has('[data-test="address"]'), message="the saved address")


def add_person(site: Site, folder, name: str, id_number: str, region: str = "mainland") -> str:
    """新增人员, then the photo (cropped to 3:4 by the page); answers the person's page path."""
    site.go("/personnel")
    site.press(f"add-{region}")
    site.wait_path("^/personnel/new")
    site.fill_many(name=name, id_number=id_number, mobile="13900139000", position="Buyer")
    site.tick("gender", "male")
    site.tick("entry_dates", "2026-11-06")
    site.tick("entry_dates", "2026-11-07")
    site.choose("exhibition_area", "consumer_goods")
    site.tick("privacy_consent", "on")
    site.press("person-save")
    site.wait_path(r"^/personnel/\w+/photo$")
    site.upload("photo", photo_file(folder, 900, 1000, f"{uuid.uuid4().hex[:6]}.jpg"))
    site.wait(lambda: site.d.find_element("css selector", "[data-cropper]").is_displayed(), 10, "the crop preview")
    site.press("photo-upload")
    path = site.wait_path(r"^/personnel/\w+$")
    site.wait(lambda: site.has('[data-test="person-photo"]'), message="the photo on the person's page")
    return path


def submit_unit(site: Site) -> None:
    site.go("/unit/submit")
    site.press("unit-submit")
    site.wait_path("^/unit$")


def pay_by_qr(site: Site, lang: str) -> str:
    """Select the people awaiting payment into an order, pay by Alipay QR with the sandbox
    payer in another window, and watch the order page turn paid without reloading."""
    site.go("/orders")
    site.press("create-order")
    order_path = site.wait_path(r"^/orders/V\d+$")
    site.press("pay")
    site.wait_path(r"^/orders/V\d+/qr")
    qr = site.d.find_element("css selector", '[data-test="qr-image"]')
    site.wait(lambda: site.d.execute_script("return arguments[0].naturalWidth", qr) > 100, 10, "the QR image")
    main = site.d.current_window_handle
    site.press("sandbox-payer")  # the payer's phone, in a new window
    site.wait(lambda: len(site.d.window_handles) == 2, 10, "the payer window")
    site.d.switch_to.window([h for h in site.d.window_handles if h != main][0])
    site.press("sandbox-pay")
    site.wait(lambda: site.has('[data-test="sandbox-paid"]'), message="the sandbox payment")
    site.d.close()
    site.d.switch_to.window(main)
    site.wait_path(order_path + "$", 30)  # the QR page follows the payment and moves on by itself
    site.wait(lambda: WORDS[lang]["paid"] in site.d.find_element("css selector", '[data-test="order-status"]').text)
    return order_path


@pytest.mark.parametrize("lang,size", [("zh", "desktop"), ("en", "phone")])
def test_home_to_downloaded_badges(portal_stack, browser, tmp_path, lang, size, logs_on_failure):
    words = WORDS[lang]
    driver = browser(PHONE if size == "phone" else DESKTOP)
    site = Site(driver, portal_stack.url)
    site.go("/")
    if lang == "en":
        site.press("lang-en")
    site.wait_text(words["home"])
    if size == "phone":
        assert site.fits_width()

    uscc, phone = random_uscc(), random_phone()
    name = f"广州示例贸易有限公司{uuid.uuid4().hex[:4]}"
    known_to_registry(portal_stack, uscc, name)
    register_unit(site, uscc, name, phone)
    assert words["registered"] in site.text()
    assert site.has('[data-test="stepper"]') and len(driver.find_elements("css selector", ".stepper .step")) == 8

    fill_unit_info(site)
    upload_document(site, tmp_path)
    add_address(site)
    first = add_person(site, tmp_path, "张三", random_resident_id())
    second = add_person(site, tmp_path, "李四", random_resident_id())
    submit_unit(site)

    # the delegation approves automatically; the stepper updates itself, the pay button comes with a reload
    site.wait(lambda: "step-done" in driver.find_element("css selector", '.step[data-step="4"]').get_attribute("class"),
              60, "step 4 done on the live stepper")
    site.wait_after_reload(lambda: site.has('[data-test="go-pay"]'), 60, "people awaiting payment")
    order_path = pay_by_qr(site, lang)

    # invoice: request it on the order page, download the PDF
    site.press("invoice-request")
    site.wait_path("^/invoices$")
    site.press("invoice-pdf")
    assert site.wait_download(".pdf").read_bytes().startswith(b"%PDF")

    # the progress: all eight steps done, once the police have answered and the badges are made
    site.go("/unit")
    site.wait_after_reload(lambda: all("step-done" in s.get_attribute("class")
                                       for s in driver.find_elements("css selector", ".stepper .step")),
                           90, "all eight steps done")
    site.go(first)
    assert words["dispatched"] in site.main_text()

    # badges: both checked, produced and dispatched with a tracking number; download the card
    site.go("/badges")
    site.wait_after_reload(lambda: len(driver.find_elements("css selector", '[data-test="tracking"]')) == 2, 90,
                           "two dispatched badges")
    for pdf in driver.downloads.glob("*.pdf"):
        pdf.unlink()
    site.press("card-pdf")
    assert site.wait_download(".pdf").read_bytes().startswith(b"%PDF")
    if size == "phone":
        assert site.fits_width()
    assert order_path and second
