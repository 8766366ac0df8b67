"""Browser fixtures: the distributed topology (deploy/stack.py) with the portal behind nginx,
and headless Chromium (Debian's chromium + chromium-driver, installed by scripts/lib.sh).

Every test saves a screenshot of its last page to var/screenshots/<test>.png."""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
import types
from pathlib import Path
from typing import Callable, Iterator

import pytest

from deploy.stack import Stack, find_nginx
from shared import auth
from tests.infra import Mailbox, PgDatabases, Vhost, free_port, new_tag

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
BLOCKED_ID = "440106198001010027"  # the police sandbox fails this person's check
# another, for a second test in the same stack (an ID number is registered once per edition)
OTHER_BLOCKED_ID = "440106198001020030"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def portal_stack(tmp_path_factory) -> Iterator[Stack]:
    """The suite as separate processes behind nginx, with the portal and the sandboxes.
    PORTAL_TEST_URL=http://… runs the tests against a stack that is already running instead
    (e.g. `scripts/run-local` with REVIEW_ADMIN_PASSWORD=Admin-passw0rd), to iterate faster."""
    if os.environ.get("PORTAL_TEST_URL"):
        yield types.SimpleNamespace(url=os.environ["PORTAL_TEST_URL"].rstrip("/"), workdir=Path(tempfile.mkdtemp()))
        return
    if find_nginx() is None:
        pytest.skip("nginx is not installed (scripts/test installs it when run as root)")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/test installs them as root)")
    tag = new_tag()
    work = tmp_path_factory.mktemp("portal-stack")
    dbs, vhost, mailbox = PgDatabases(tag), Vhost(tag), Mailbox()
    urls = dbs.create()
    env = {f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()}
    keys = work / "jwt"
    auth.generate_keypair(keys / "private.pem", keys / "public.pem")
    env.update(AMQP_URI=vhost.create(), JWT_PRIVATE_KEY_FILE=str(keys / "private.pem"),
               JWT_PUBLIC_KEY_FILE=str(keys / "public.pem"), RETRY_DELAYS_MS="300,1000,3000",
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.start()), PAYMENT_SANDBOX_CALLBACK_DELAY="0.1",
               POLICE_BLOCKLIST=f"{BLOCKED_ID},{OTHER_BLOCKED_ID}", POLICE_MIN_DELAY="0.05", POLICE_MAX_DELAY="0.2",
               REVIEW_ADMIN_PASSWORD="Admin-passw0rd", ACCR_DATA_DIR=str(work), ACCR_SANDBOX="1",
               GATEWAY_LOGIN_RATE="100000r/m", GATEWAY_CODE_RATE="100000r/m", GATEWAY_LOGIN_BURST="1000",
               GATEWAY_CODE_BURST="1000", SMS_MAX_PER_CLIENT_PER_HOUR="100000",
               PORTAL_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
               REGISTRATION_DATA_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
    # a port range of its own: the e2e stack of the same test session uses 20000-29999
    stack = Stack(workdir=work, env=env, mode="distributed", gateway_port=free_port(),
                  api_base_port=30000 + (os.getpid() % 300) * 60)
    try:
        stack.start(timeout=120)
    except Exception:
        stack.stop()
        _dump_logs(work)
        raise
    stack.mailbox = mailbox  # type: ignore[attr-defined]  # what the stack emailed, for tests that read it
    yield stack
    stack.stop()
    mailbox.stop()
    vhost.delete()
    dbs.drop()


def _dump_logs(work: Path) -> None:
    for log in sorted((work / "logs").glob("*.log")):
        print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")


def new_driver(size: dict[str, int], downloads: Path, javascript: bool = True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-extensions", "--disable-features=Translate,MediaRouter",
                 "--password-store=basic", "--lang=zh-CN", f"--user-data-dir={downloads.parent / 'profile'}"):
        options.add_argument(flag)
    prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False,
             "plugins.always_open_pdf_externally": True, "credentials_enable_service": False}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    if size["width"] < 600:  # a phone: its viewport, pixel ratio and touch
        options.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": size["width"], "height": size["height"], "pixelRatio": 2, "touch": True},
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                         "(KHTML, like Gecko) Mobile/15E148"})
    else:
        options.add_argument(f"--window-size={size['width']},{size['height']}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def save_screenshot(driver, path: Path) -> None:
    """The whole page: the viewport is stretched to the page's height for the shot, so that
    sticky and fixed parts sit where they belong."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        width, height, mobile = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollHeight,"
            " /Mobile/.test(navigator.userAgent)]")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": min(height, 12000), "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:
        driver.save_screenshot(str(path))


@pytest.fixture
def browser(request) -> Iterator[Callable[..., object]]:
    """open(size=DESKTOP, javascript=True) -> a fresh Chromium; each gets its own profile and
    download folder (driver.downloads). The first one's last page is the test's screenshot."""
    drivers: list = []
    folders: list[str] = []

    def open_browser(size: dict[str, int] = DESKTOP, javascript: bool = True):
        folder = tempfile.mkdtemp(prefix="accr-browser-")
        folders.append(folder)
        downloads = Path(folder) / "downloads"
        downloads.mkdir()
        driver = new_driver(size, downloads, javascript)
        driver.downloads = downloads
        drivers.append(driver)
        return driver

    yield open_browser
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    for i, driver in enumerate(drivers):
        try:
            save_screenshot(driver, SCREENSHOTS / (f"{name}.png" if i == 0 else f"{name}-{i + 1}.png"))
        finally:
            driver.quit()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def logs_on_failure(portal_stack, request):
    yield
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        _dump_logs(portal_stack.workdir)
