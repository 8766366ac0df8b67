"""The CIFTIS back office in a browser, on a stack of its own started with FAIR=ciftis: the
organising committee creates a host organisation admin (承办机构管理员); the host admin, on a
phone, fills in its organisation's information, is told next to the field what is wrong with
its licence, uploads it and submits; the committee sees the information and the licence image,
returns it with a comment, then approves it once resubmitted; the host admin then generates
its invitation codes."""
from __future__ import annotations

import base64
import os
import random
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from selenium.webdriver.common.by import By

from deploy.stack import Stack, find_nginx
from shared import auth
from tests.browser.admins import PASSWORD, admin_log_in
from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, DESKTOP, PHONE, SCREENSHOTS, _dump_logs, save_screenshot
from tests.browser.site import Site
from tests.browser.units import committee
from tests.infra import Mailbox, PgDatabases, Vhost, free_port, new_tag
from tests.journey import photo_jpeg


@pytest.fixture(scope="module")
def ciftis_stack(tmp_path_factory) -> Iterator[Stack]:
    """The distributed stack as the browser tests' own, serving the CIFTIS profile."""
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/test installs them as root)")
    tag = new_tag()
    work = tmp_path_factory.mktemp("ciftis-stack")
    dbs, vhost, mailbox = PgDatabases(tag), Vhost(tag), Mailbox()
    urls = dbs.create()
    env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
    keys = work / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    env.update(FAIR="ciftis", AMQP_URI=vhost.create(), JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"),
               JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"), RETRY_DELAYS_MS="300,1000,3000",
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.start()), REVIEW_ADMIN_PASSWORD="Admin-passw0rd",
               ACCR_DATA_DIR=str(work), ACCR_SANDBOX="1", GATEWAY_LOGIN_RATE="100000r/m",
               GATEWAY_CODE_RATE="100000r/m", GATEWAY_LOGIN_BURST="1000", GATEWAY_CODE_BURST="1000",
               PORTAL_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
               REGISTRATION_DATA_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
    # ports apart from the CIIE browser stack's (30000 + pid % 300 * 60) and the e2e stack's
    stack = Stack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
                  api_base_port=48000 + (os.getpid() % 200) * 60)
    try:
        stack.start(timeout=120)
    except Exception:
        stack.stop()
        _dump_logs(work)
        raise
    yield stack
    stack.stop()
    mailbox.stop()
    vhost.delete()
    dbs.drop()


def host_log_in(site: Site, username: str) -> None:
    """A host organisation admin starts on its organisation's page."""
    site.go("/admin/login")
    site.fill_many(username=username, password=PASSWORD)
    site.press("admin-login-submit")
    site.wait_path("^/admin/host-organisation$")


def status_of(site: Site) -> str:
    return site.d.find_element(By.CSS_SELECTOR, '[data-test="host-status"]').get_attribute("data-status") or ""


def image_loaded(site: Site, css: str) -> bool:
    return bool(site.d.execute_script(
        "const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth > 0;", css))


def noisy_png(path: Path, size: tuple[int, int]) -> Path:
    """An image that does not compress: random pixels make a big file."""
    from PIL import Image
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    image.save(path, "PNG")
    return path


def test_ciftis_host_organisation_registers_is_returned_approved_and_issues_codes(ciftis_stack, browser, tmp_path):
    stack = ciftis_stack
    oc = committee(stack)
    organisation = f"CFT{uuid.uuid4().hex[:5].upper()}"
    oc.call("POST", "review/delegations", 201, json={"id": organisation, "name": f"测试承办机构{organisation[-4:]}",
                                                     "target": 0})

    # the committee creates the host organisation's admin with the back office's form
    desk = Site(browser(DESKTOP), stack.url)
    admin_log_in(desk)
    desk.go("/admin/admins")
    username = f"host-{uuid.uuid4().hex[:6]}"
    desk.fill_many(username=username, password=PASSWORD)
    desk.choose("role", "host_organisation_admin")
    desk.choose("delegation_id", organisation)
    desk.press("admin-create")
    desk.wait_text(f"账号 {username} 已创建")

    # the host admin, on a phone, fills in its information
    phone = Site(browser(PHONE), stack.url)
    host_log_in(phone, username)
    assert status_of(phone) == "awaiting_info" and "JPG/PNG，清晰完整，不超过 300 KB" in phone.main_text()
    phone.fill_many(name=f"测试承办机构{organisation[-4:]}", name_en="Test host", field="金融服务", industry="金融",
                    uscc="n/a", address="北京市朝阳区示例路 1 号", postcode="100020", phone="010-88886666",
                    website="https://example.cn")
    phone.press("host-save")
    phone.wait_text("信息已保存")
    phone.press("host-submit")  # no licence yet
    phone.wait_error("licence", "提交前请上传营业执照")
    phone.upload("licence", noisy_png(tmp_path / "big.png", (400, 300)))  # ~360 KB
    phone.press("host-licence-upload")
    phone.wait_error("licence", "营业执照图片太大")
    save_screenshot(phone.d, SCREENSHOTS / "test_ciftis_desks-licence-error-phone.png")
    (tmp_path / "licence.jpg").write_bytes(photo_jpeg(800, 560))
    phone.upload("licence", tmp_path / "licence.jpg")
    phone.press("host-licence-upload")
    phone.wait_text("营业执照已上传")
    phone.wait(lambda: image_loaded(phone, '[data-test="host-licence-image"]'), message="the licence image")
    phone.press("host-submit")
    phone.wait(lambda: status_of(phone) == "pending", message="submitted")

    # the committee sees it waiting, with the licence, and returns it with a comment
    desk.go("/admin/host-organisations")
    desk.click_css(f'[data-host="{organisation}"] [data-test="host-open"]')
    desk.wait_path(f"^/admin/host-organisations/{organisation}$")
    assert "北京市朝阳区示例路 1 号" in desk.main_text()
    desk.wait(lambda: image_loaded(desk, '[data-test="host-licence-image"]'), message="the licence for the committee")
    save_screenshot(desk.d, SCREENSHOTS / "test_ciftis_desks-committee-detail.png")
    desk.fill("comment", "营业执照请加盖公章")
    desk.press("host-return")
    desk.wait_path("^/admin/host-organisations$")

    phone.d.refresh()
    phone.wait(lambda: status_of(phone) == "returned", message="returned")
    assert "营业执照请加盖公章" in phone.d.find_element(By.CSS_SELECTOR, '[data-test="host-comment"]').text
    phone.press("host-submit")
    phone.wait(lambda: status_of(phone) == "pending", message="submitted again")

    desk.go(f"/admin/host-organisations/{organisation}")
    desk.press("host-approve")
    desk.wait_path("^/admin/host-organisations$")

    # approved: the host admin issues its invitation codes
    phone.d.refresh()
    phone.wait(lambda: status_of(phone) == "approved", message="approved")
    phone.fill("count", "5")
    phone.press("host-codes-generate")
    phone.wait_path("^/admin/codes")
    phone.wait(lambda: len(phone.d.find_elements(By.CSS_SELECTOR, '[data-test="code-row"]')) == 5, message="5 codes")
    phone.go("/admin/host-organisation")
    assert "5 个未使用" in phone.main_text()
