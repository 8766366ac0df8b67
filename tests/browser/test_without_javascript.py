"""Pages are rendered on the server and work without JavaScript: the SMS code is asked by
posting the form (its values kept) and the photo rules are enforced by the API, with the
message next to the field."""
from __future__ import annotations

from tests.browser.conftest import DESKTOP
from tests.browser.site import Site, photo_file
from tests.browser.units import api_unit, log_in
from tests.journey import photo_jpeg, random_phone


def test_sign_up_code_and_photo_rules_without_javascript(portal_stack, browser, tmp_path):
    site = Site(browser(DESKTOP, javascript=False), portal_stack.url).go("/register")
    phone = random_phone()
    site.fill_many(name="无脚本测试有限公司", phone=phone)
    before = site.sms_count(phone)
    site.press("send-code")  # posts the whole form
    site.wait_text("验证码已发送至")
    assert site.field("name").get_attribute("value") == "无脚本测试有限公司"
    site.wait(lambda: site.sms_count(phone) > before, 20, "the SMS")
    assert len(site.read_sms_code(phone)) == 6

    unit = api_unit(portal_stack, people=1)
    log_in(site, unit.uscc)
    site.go(f"/personnel/{unit.people[0]['id']}/photo")
    png = tmp_path / "photo.png"
    png.write_bytes(photo_jpeg(480, 640, "PNG"))
    site.upload("photo", png)
    site.press("photo-upload")
    assert site.wait_error("photo") == "照片须为 JPG 格式。"
    site.upload("photo", photo_file(tmp_path, 900, 1000))
    site.press("photo-upload")
    assert site.wait_error("photo") == "照片宽高比须为 3:4。"
    assert "f-photo-error" in site.described_by("photo")
    site.upload("photo", photo_file(tmp_path, 600, 800))
    site.press("photo-upload")
    site.wait_path(r"^/personnel/\w+$")
    assert site.has('[data-test="person-photo"]')
