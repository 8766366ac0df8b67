"""The gate on a phone: the badge's code read from the real card (the vendored jsQR on the
card's image), typed in, and the verdict shown with the holder's photo and name — refused
on a day that is not the card's, admitted on the way out, unknown for a foreign code;
then the camera path, with Chromium's fake camera showing the card; and the gate page
refused to other roles."""
from __future__ import annotations

import base64
import io
import uuid

from PIL import Image
from selenium.webdriver.common.by import By

from tests.browser.admins import admin_log_in, admin_log_out, new_admin
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, PHONE, SCREENSHOTS, save_screenshot
from tests.browser.desks import onsite_unit
from tests.browser.site import Site


def card_png(unit, credential_no: str) -> bytes:
    return unit.portal.call("GET", f"credentials/credentials/{credential_no}/card.png", 200).content


def read_qr_in_page(site: Site, png: bytes) -> str:
    """The page's own reader (the vendored jsQR) on the printed card's image."""
    return site.d.execute_async_script("""
        const done = arguments[arguments.length - 1], image = new Image();
        image.onload = () => {
          const canvas = document.createElement('canvas');
          canvas.width = image.width; canvas.height = image.height;
          const context = canvas.getContext('2d');
          context.drawImage(image, 0, 0);
          const frame = context.getImageData(0, 0, image.width, image.height);
          const code = window.jsQR(frame.data, frame.width, frame.height);
          done(code ? code.data : null);
        };
        image.onerror = () => done(null);
        image.src = 'data:image/png;base64,' + arguments[0];""", base64.b64encode(png).decode())


def check(site: Site, payload: str, direction: str = "in") -> str:
    site.fill("payload", payload)
    site.tick("direction", direction)
    site.press("gate-check")
    return site.wait(lambda: site.d.find_element(By.CSS_SELECTOR, '[data-test="verdict"]').get_attribute(
        "data-verdict") if site.has('[data-test="verdict"]') and not site.field("payload").get_attribute("value")
        else None)


def test_a_gate_verification_shows_the_photo_on_a_phone(portal_stack, browser, logs_on_failure):
    tag = uuid.uuid4().hex[:4]
    unit, [badge] = onsite_unit(portal_stack, (f"王门岗{tag}",))
    site = Site(browser(PHONE), portal_stack.url)
    admin_log_in(site, new_admin(portal_stack, "gate_staff"))
    assert site.has('[data-test="menu-admin_gate.scan"]')
    site.go("/admin/gate")
    assert site.d.execute_script("return typeof window.jsQR") == "function"  # the vendored reader loaded
    payload = read_qr_in_page(site, card_png(unit, badge["credential_no"]))
    assert payload and payload.startswith(f"ACCR2:{badge['credential_no']}:")
    site.press("gate-check")  # nothing read yet: said next to the fields
    assert site.wait_error("payload") == "请扫描证件或输入证件码。"
    assert site.error_for("gate") == "请填写所在入口。"
    site.fill("gate", "北登录厅N1")
    assert check(site, "HELLO-NOT-A-BADGE") == "unknown"
    assert "无法识别的证件" in site.main_text() and not site.has('[data-test="gate-photo"]')
    assert check(site, payload, "in") == "not_this_day"  # the card's day is 11/6, not today
    assert "今日无效" in site.main_text() and f"王门岗{tag}" in site.main_text()
    assert site.field("gate").get_attribute("value") == "北登录厅N1"  # kept for the next scan
    assert check(site, payload, "out") == "valid"  # going out is never refused
    verdict = site.d.find_element(By.CSS_SELECTOR, '[data-test="verdict"]')
    assert "有效" in verdict.text and "gate-ok" in verdict.get_attribute("class")
    assert site.d.find_element(By.CSS_SELECTOR, '[data-test="gate-name"]').text == f"王门岗{tag}"
    site.wait(lambda: site.d.execute_script(
        "const i = document.querySelector('[data-test=gate-photo]'); return i.complete && i.naturalWidth > 0"))
    assert site.fits_width()
    # operations read every scan of the badge in the log (a second browser: the gate keeps its answer)
    desk = Site(browser(PHONE), portal_stack.url)
    admin_log_in(desk, new_admin(portal_stack, "operations"))
    desk.go(f"/admin/operations/scans?credential_no={badge['credential_no']}")
    verdicts = [r.text for r in desk.d.find_elements(By.CSS_SELECTOR, '[data-test="scan-row"]')]
    assert len(verdicts) == 2 and "有效" in verdicts[0] and "今日无效" in verdicts[1]  # newest first


def camera_driver(video: str):
    """A phone-sized Chromium whose camera shows `video` (an MJPEG file) and asks no permission."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-extensions", "--lang=zh-CN", "--use-fake-ui-for-media-stream",
                 "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": PHONE["width"], "height": PHONE["height"], "pixelRatio": 2, "touch": True}})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


def test_the_camera_reads_the_badge(portal_stack, tmp_path, logs_on_failure):
    tag = uuid.uuid4().hex[:4]
    unit, [badge] = onsite_unit(portal_stack, (f"赵镜头{tag}",))
    card = Image.open(io.BytesIO(card_png(unit, badge["credential_no"]))).convert("RGB")
    frame = Image.new("RGB", (640, 480), "white")  # the card held up to the camera
    card.thumbnail((620, 460))
    frame.paste(card, ((640 - card.width) // 2, (480 - card.height) // 2))
    jpeg = io.BytesIO()
    frame.save(jpeg, "JPEG", quality=92)
    video = tmp_path / "camera.mjpeg"
    video.write_bytes(jpeg.getvalue() * 30)
    gate_staff = new_admin(portal_stack, "gate_staff")
    driver = camera_driver(str(video))
    try:
        site = Site(driver, portal_stack.url)
        admin_log_in(site, gate_staff)
        site.go("/admin/gate")
        site.fill("gate", "南登录厅S2")
        site.tick("direction", "out")
        site.press("camera-start")
        site.wait(lambda: site.has('[data-test="verdict"]'), 30, "the camera to read the badge and the gate to answer")
        assert site.d.find_element(By.CSS_SELECTOR, '[data-test="verdict"]').get_attribute("data-verdict") == "valid"
        assert site.d.find_element(By.CSS_SELECTOR, '[data-test="gate-name"]').text == f"赵镜头{tag}"
    finally:
        save_screenshot(driver, SCREENSHOTS / "test_the_camera_reads_the_badge.png")
        driver.quit()


def test_the_gate_page_is_refused_to_other_roles(portal_stack, browser, logs_on_failure):
    site = Site(browser(PHONE), portal_stack.url)
    for role in ("finance", "operations"):
        admin_log_in(site, new_admin(portal_stack, role))
        assert not site.has('[data-test="menu-admin_gate.scan"]')
        site.go("/admin/gate")
        assert "无权访问" in site.main_text(), role
        admin_log_out(site)
    admin_log_in(site, new_admin(portal_stack, "gate_staff"))
    site.go("/admin/finance/transfers")  # and the gate staff sees no other desk
    assert "无权访问" in site.main_text()
