"""Bad input on each form shows the right message, in the user's language, next to the
field it concerns (tied to it with aria-describedby): instantly in the browser where a
hint can tell, from the API otherwise."""
from __future__ import annotations

from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import DESKTOP
from tests.browser.site import Site, photo_file
from tests.browser.units import api_unit, log_in
from tests.journey import random_phone, random_resident_id, random_uscc
from shared.validators import resident_id_check_char


def bad_check_character(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def test_sign_up_form(portal_stack, browser):
    site = Site(browser(DESKTOP), portal_stack.url).go("/register")
    # instant: the USCC's check character, the phone's format, the second password
    site.fill("uscc", bad_check_character(random_uscc()))
    site.field("uscc").send_keys(Keys.TAB)
    assert site.wait_error("uscc") == "校验位不符，请检查代码。"
    assert "f-uscc-error" in site.described_by("uscc")
    site.fill("phone", "13x")
    site.field("phone").send_keys(Keys.TAB)
    assert site.wait_error("phone") == "请输入有效的手机号码（仅数字）。"
    # from the API: a wrong SMS code, then a code for a USCC that is already registered
    taken = api_unit(portal_stack)
    phone = random_phone()
    site.choose("delegation_id", "GD-GZ")
    site.fill_many(name="重复注册有限公司", uscc=taken.uscc, email="dup@example.cn", phone=phone,
                   password="Passw0rd!", password_confirm="Passw0rd!")
    code = site.send_code_and_read(phone)
    site.fill("sms_code", "000000" if code != "000000" else "111111")
    site.tick("consent", "on")
    site.press("register-submit")
    assert site.wait_error("sms_code") == "验证码不正确。"
    assert site.has('[data-test="error-summary"]') and site.field("name").get_attribute("value") == "重复注册有限公司"
    site.fill_many(sms_code=code, password="Passw0rd!", password_confirm="Passw0rd!")
    site.tick("consent", "on")
    site.press("register-submit")
    assert site.wait_error("uscc") == "该统一社会信用代码本届已注册，请直接登录。"
    assert site.field("uscc").get_attribute("aria-invalid") == "true"


def test_login_and_password_reset_forms(portal_stack, browser):
    unit = api_unit(portal_stack)
    site = Site(browser(DESKTOP), portal_stack.url).go("/login")
    site.fill_many(uscc=unit.uscc, password="Wrong-passw0rd")
    site.press("login-submit")
    assert site.wait_error("password") == "统一社会信用代码或密码错误。"
    site.go("/login/sms")
    site.fill("phone", random_phone())
    site.fill("sms_code", "123456")
    site.press("login-submit")
    assert site.wait_error("sms_code") == "验证码已过期或已使用，请重新获取。"
    site.go("/password-reset")
    site.fill_many(uscc=unit.uscc, phone=unit.phone)
    site.press("send-code")  # the phone received its sign-up code less than a minute ago
    assert site.wait_error("phone") == "请等待一分钟后再获取验证码。"
    site.fill_many(sms_code="123456", new_password="short", new_password_confirm="short")
    site.field("new_password").send_keys(Keys.TAB)
    assert site.wait_error("new_password") == "至少 8 位。"
    site.fill_many(new_password="onlyletters", new_password_confirm="onlyletters")
    site.press("reset-submit")
    assert site.wait_error("new_password") == "密码须为 8 至 64 位，并同时包含字母和数字。"


def test_person_and_photo_forms(portal_stack, browser, tmp_path):
    unit = api_unit(portal_stack)
    site = Site(browser(DESKTOP), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/personnel/new?region_type=mainland")
    good = random_resident_id()
    site.fill("id_number", bad_check_character(good))
    site.field("id_number").send_keys(Keys.TAB)
    assert site.wait_error("id_number") == "校验位不符，请检查证件号码。"
    not_a_day = "44010619991345001"  # month 13: the check digit fits, the date does not
    site.fill_many(name="王错误", id_number=not_a_day + resident_id_check_char(not_a_day))
    site.press("person-save")
    assert site.wait_error("id_number") == "证件号码不正确。"
    site.fill("id_number", good)
    site.press("person-save")  # no entry date chosen
    assert site.wait_error("entry_dates") == "请至少选择一个入场日期。"
    site.fill("id_number", good)
    site.tick("entry_dates", "2026-11-06")
    site.press("person-save")
    photo_page = site.wait_path(r"^/personnel/\w+/photo$")
    # the same person again
    site.go("/personnel/new?region_type=mainland")
    site.fill_many(name="王重复", id_number=good)
    site.tick("entry_dates", "2026-11-06")
    site.press("person-save")
    assert site.wait_error("id_number") == "该证件号码已在本届报名，每人只能报名一次。"
    # a photo too small for a badge, even cropped
    site.go(photo_page)
    site.upload("photo", photo_file(tmp_path, 300, 400, "tiny.jpg"))
    site.wait(lambda: site.d.find_element("css selector", "[data-cropper]").is_displayed(), 10, "the crop preview")
    site.press("photo-upload")
    assert site.wait_error("photo") == "照片像素不小于 480×640。"


def test_unit_info_document_address_and_submission(portal_stack, browser, tmp_path):
    unit = api_unit(portal_stack, people=0)
    site = Site(browser(DESKTOP), portal_stack.url)
    log_in(site, unit.uscc)
    site.go("/unit/info")
    site.fill("nature", "民营企业")  # the draft saves itself every 5 seconds
    site.wait(lambda: "已自动保存" in site.d.find_element("css selector", "[data-autosave-note]").text, 15, "autosave")
    site.d.refresh()
    assert site.field("nature").get_attribute("value") == "民营企业"
    site.fill("registered_capital_10k_cny", "-5")
    site.field("registered_capital_10k_cny").send_keys(Keys.TAB)
    assert site.wait_error("registered_capital_10k_cny") == "请输入不小于 0 的数字。"
    site.go("/unit/document")
    not_image = tmp_path / "licence.png"
    not_image.write_bytes(b"this is not an image")
    site.upload("document", not_image)
    site.press("document-upload")
    assert site.wait_error("document") == "文件不是可读取的图片。"
    site.go("/unit/addresses")
    site.fill_many(recipient="李雷", phone="13800138000", province="广东", city="广州", detail="珠江路 1 号", postcode="51")
    site.press("address-save")
    assert site.wait_error("postcode") == "邮编为 6 位数字。"
    site.go("/unit/submit")  # nobody submitted with the unit
    site.press("unit-submit")
    site.wait_text("确认提交单位信息时，须至少同时或提前提交一名人员。")


def test_order_transfer_and_invoice_forms(portal_stack, browser, tmp_path):
    unit = api_unit(portal_stack, people=2, order=True)
    site = Site(browser(DESKTOP), portal_stack.url)
    log_in(site, unit.uscc)
    order_no = unit.order["order_no"]
    site.go(f"/orders/{order_no}/transfer")
    site.fill_many(remitter_name="深圳示例科技有限公司", remitter_account="12", amount="abc", phone="13800138000")
    site.field("remitter_account").send_keys(Keys.TAB)
    assert site.wait_error("remitter_account") == "账号为 8 至 32 位数字。"
    site.fill("remitter_account", "6222020200112233")
    site.upload("voucher", photo_file(tmp_path, 600, 800, "voucher.jpg"))
    site.press("transfer-submit")
    assert site.wait_error("amount") == "请按元填写金额，例如 200.00。"
    site.fill("amount", "400.00")
    site.upload("voucher", photo_file(tmp_path, 600, 800, "voucher.jpg"))
    site.press("transfer-submit")
    site.wait_path(f"^/orders/{order_no}$")
    assert "待财务审核" in site.d.find_element("css selector", '[data-test="transfer-status"]').text
    # a second transfer for the same order waits for the first
    site.go(f"/orders/{order_no}/transfer")
    site.fill_many(remitter_name="深圳示例科技有限公司", remitter_account="6222020200112233", phone="13800138000")
    site.upload("voucher", photo_file(tmp_path, 600, 800, "voucher.jpg"))
    site.press("transfer-submit")
    site.wait_text("该订单已有转账待财务审核。")
    # the orders page with nobody to pay for; an invoice needs the tax number for a special invoice
    paid = api_unit(portal_stack, paid=True)
    log_in(site, paid.uscc)
    site.go(f"/orders/{paid.order['order_no']}")
    site.tick("kind", "special")
    site.press("invoice-request")
    assert site.wait_error("tax_no") == "开具数电专票须填写购买方纳税人识别号。"
