"""Driving the portal the way a person does: find fields by their labels' inputs, press
buttons, read what the page says. Every wait polls a condition with a deadline."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import requests
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.journey import photo_jpeg

WAIT = 30


class Site:
    def __init__(self, driver: WebDriver, base_url: str):
        self.d = driver
        self.base = base_url.rstrip("/")

    # --- navigation and reading ------------------------------------------------------------
    def go(self, path: str) -> "Site":
        self.d.get(self.base + path)
        return self

    @property
    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.d.current_url)

    def text(self) -> str:
        return self.d.find_element(By.TAG_NAME, "body").text

    def main_text(self) -> str:
        return self.d.find_element(By.ID, "main").text

    def wait(self, condition: Callable[[], Any], timeout: float = WAIT, message: str = "") -> Any:
        def check(_driver: WebDriver) -> Any:
            try:
                return condition()
            except (StaleElementReferenceException, AssertionError):
                return False
            except WebDriverException as error:
                # Chromium's form of a stale element when the page is replaced mid-read.
                if "does not belong to the document" in str(error):
                    return False
                raise
        return WebDriverWait(self.d, timeout, poll_frequency=0.2).until(check, message)

    def wait_path(self, pattern: str, timeout: float = WAIT) -> str:
        self.wait(lambda: re.search(pattern, self.path), timeout, f"the page {pattern} (at {self.path})")
        return self.path

    def wait_text(self, text: str, timeout: float = WAIT) -> None:
        self.wait(lambda: text in self.text(), timeout, f"the text {text!r}")

    def wait_after_reload(self, condition: Callable[[], Any], timeout: float = 60, message: str = "") -> Any:
        """Reload until the condition holds (what a person does on a page without live updates)."""
        def check(_driver: WebDriver) -> Any:
            try:
                value = condition()
            except StaleElementReferenceException:
                value = None
            except WebDriverException as error:
                if "does not belong to the document" not in str(error):
                    raise
                value = None
            if not value:
                self.d.refresh()
            return value
        return WebDriverWait(self.d, timeout, poll_frequency=1.0).until(check, message)

    # --- forms ------------------------------------------------------------------------------------
    def field(self, name: str, form: WebElement | None = None) -> WebElement:
        return (form or self.d).find_element(By.CSS_SELECTOR, f'#main [name="{name}"]')

    def fill(self, name: str, value: str) -> None:
        element = self.field(name)
        element.clear()
        element.send_keys(value)

    def fill_many(self, **values: str) -> None:
        for name, value in values.items():
            self.fill(name, value)

    def choose(self, name: str, value: str) -> None:
        Select(self.field(name)).select_by_value(value)

    def tick(self, name: str, value: str, on: bool = True) -> None:
        box = self.d.find_element(By.CSS_SELECTOR, f'#main input[name="{name}"][value="{value}"]')
        if box.is_selected() != on:
            self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
            box.click()

    def upload(self, name: str, path: Path) -> None:
        self.field(name).send_keys(str(path))

    def press(self, test_id: str) -> None:
        button = self.d.find_element(By.CSS_SELECTOR, f'[data-test="{test_id}"]')
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()

    def click_css(self, css: str) -> None:
        element = self.d.find_element(By.CSS_SELECTOR, css)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def has(self, css: str) -> bool:
        return bool(self.d.find_elements(By.CSS_SELECTOR, css))

    def error_for(self, name: str) -> str:
        """The error text tied to a field (aria-describedby), as a screen reader reads it."""
        boxes = self.d.find_elements(By.ID, f"f-{name}-error")
        return boxes[0].text.strip() if boxes and boxes[0].is_displayed() else ""

    def described_by(self, name: str) -> str:
        return self.d.find_element(By.ID, f"f-{name}").get_attribute("aria-describedby") or ""

    def wait_error(self, name: str, contains: str = "", timeout: float = 10) -> str:
        return self.wait(lambda: (t := self.error_for(name)) and contains in t and t, timeout,
                         f"an error on {name} containing {contains!r}")

    # --- the phone (the sandbox SMS inbox in another window) ------------------------------------
    def read_sms_code(self, phone: str) -> str:
        """Look at the phone: a second window on the sandbox phone page, reloaded until the
        code arrives."""
        main = self.d.current_window_handle
        self.d.switch_to.new_window("window")
        try:
            self.d.get(f"{self.base}/sandbox/phone?phone={phone}")

            def code() -> str | None:
                texts = [li.text for li in self.d.find_elements(By.CSS_SELECTOR, '[data-test="sms-list"] li p')]
                found = [m.group() for t in texts if (m := re.search(r"\d{6}", t))]  # newest first
                if found:
                    return found[0]
                self.d.refresh()
                return None
            return self.wait(code, 30, "the SMS code on the phone")
        finally:
            self.d.close()
            self.d.switch_to.window(main)

    def sms_count(self, phone: str) -> int:
        return len(requests.get(f"{self.base}/api/notifications/sandbox/sms", params={"phone": phone}, timeout=10).json())

    def send_code_and_read(self, phone: str) -> str:
        before = self.sms_count(phone)
        self.press("send-code")
        self.wait(lambda: self.sms_count(phone) > before, 30, "the SMS to arrive")
        return self.read_sms_code(phone)

    # --- downloads ---------------------------------------------------------------------------------
    def wait_download(self, suffix: str, timeout: float = 30) -> Path:
        folder: Path = self.d.downloads  # type: ignore[attr-defined]

        def done() -> Path | None:
            files = [p for p in folder.iterdir() if p.name.endswith(suffix)]
            return files[0] if files and files[0].stat().st_size > 0 else None
        return self.wait(done, timeout, f"a downloaded {suffix}")

    # --- sizes -----------------------------------------------------------------------------------------
    def fits_width(self) -> bool:
        """No horizontal scrolling: the page is as wide as the screen."""
        return self.d.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1")


def photo_file(folder: Path, width: int = 900, height: int = 1000, name: str = "photo.jpg") -> Path:
    """A phone snapshot that is not 3:4: the portal crops it."""
    path = folder / name
    path.write_bytes(photo_jpeg(width, height))
    return path


def licence_file(folder: Path) -> Path:
    path = folder / "licence.png"
    path.write_bytes(photo_jpeg(800, 600, "PNG"))
    return path


def wait_js(driver: WebDriver) -> None:
    try:
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
    except WebDriverException:
        pass
