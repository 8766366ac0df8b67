"""Drives the portal over HTTP the way the gateway's users do: used by the e2e tests and
the benchmark."""
from __future__ import annotations

import functools
import io
import random
import re
import uuid

import requests

from shared.validators import resident_id_check_char, uscc_check_char
from tests.infra import wait_for

USCC_BODY_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


FULL_UNIT_INFO = {  # what the seeds mark required on the unit-info form
    "name_en": "Example Trading Co., Ltd.", "registered_address": "1 Zhujiang Rd, Guangzhou",
    "industry": "wholesale", "contact_name": "Li Lei", "contact_mobile": "13800138000",
    "purposes": ["procure", "find_partners"], "registered_capital_10k_cny": "500", "nature": "private",
    "turnover_last_year_10k_usd": "120", "import_modes": ["general_trade"], "import_last_year_10k_usd": "30",
    "import_three_years_10k_usd": "80", "procurement_intentions": [{"area": "food_agriculture", "categories": ["dairy"]}],
}
PERSON_REQUIRED = {"gender": "male", "mobile": "13900139000", "exhibition_area": "consumer_goods",
                   "privacy_consent": True}


def random_uscc() -> str:
    body = "91" + "".join(random.choice("0123456789") for _ in range(6)) + \
        "".join(random.choice(USCC_BODY_CHARS) for _ in range(9))
    return body + uscc_check_char(body)


def random_phone() -> str:
    return "13" + "".join(random.choice("0123456789") for _ in range(9))


def random_resident_id() -> str:
    body = "440106" + f"{random.randint(1960, 2000)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}" + \
        f"{random.randint(0, 999):03d}"
    return body + resident_id_check_char(body)


@functools.lru_cache(maxsize=None)
def photo_jpeg(width: int = 480, height: int = 640, fmt: str = "JPEG") -> bytes:
    """A plain ID-photo-shaped image."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (width, height), (235, 240, 245))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.55), fill=(200, 170, 150))
    draw.rectangle((width * 0.2, height * 0.6, width * 0.8, height), fill=(40, 50, 80))
    out = io.BytesIO()
    image.save(out, fmt, quality=85)
    return out.getvalue()


class Portal:
    poll_interval = 0.05  # seconds between looks while waiting (a benchmark sets it higher)

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.token: str | None = None
        self.unit_id: str | None = None

    def call(self, method: str, path: str, expect: int | tuple[int, ...] | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        r = self.http.request(method, f"{self.base}/api/{path.lstrip('/')}", headers=headers, timeout=30, **kwargs)
        if expect is not None:
            wanted = expect if isinstance(expect, tuple) else (expect,)
            assert r.status_code in wanted, f"{method} {path} -> {r.status_code} {r.text[:500]}"
        return r

    # --- the unit ---------------------------------------------------------------------------
    def sms_code(self, phone: str, purpose: str) -> str:
        """Ask registration for a code and read it off the phone (the SMS sandbox)."""
        before = len(self.sms(phone))
        self.call("POST", "registration/sms-codes", 202, json={"phone": phone, "purpose": purpose})
        messages = wait_for(lambda: (m := self.sms(phone)) and len(m) > before and m, interval=self.poll_interval,
                            message="the SMS code")
        found = re.search(r"\d{6}", messages[-1]["text"])
        assert found is not None, "the SMS holds no code"
        return found.group()

    def sign_up(self, uscc: str, name: str, email: str, phone: str, category: str = "enterprise",
                password: str = "Passw0rd!", **extra) -> dict:
        body = {"uscc": uscc, "password": password, "name": name, "category": category, "phone": phone,
                "email": email, "delegation_id": "GD-GZ", "sms_code": self.sms_code(phone, "signup"),
                "privacy_consent": True, **extra}
        return self.call("POST", "registration/units", 201, json=body).json()

    def login(self, uscc: str, password: str = "Passw0rd!") -> None:
        data = self.call("POST", "registration/auth/login", 200, json={"uscc": uscc, "password": password}).json()
        self.token, self.unit_id = data["token"], data["unit_id"]

    def fill_info(self) -> None:  # every field the seeds mark required
        unit = self.call("GET", "registration/units/me", 200).json()
        if unit["category"] != "government":  # the qualification document for the category
            self.call("PUT", "registration/units/me/document", 200,
                      files={"document": ("licence.png", photo_jpeg(800, 600, "PNG"), "image/png")})
        if not self.call("GET", "registration/units/me/addresses", 200).json():  # where badges are sent
            self.call("POST", "registration/units/me/addresses", 201, json={
                "recipient": "Li Lei", "phone": "13800138000", "province": "广东", "city": "广州",
                "detail": "珠江路 1 号", "is_default": True})
        self.call("PATCH", "registration/units/me/info", 200, json={
            "name_en": "Example Trading Co., Ltd.", "registered_address": "1 Zhujiang Rd, Guangzhou",
            "industry": "wholesale", "contact_name": "Li Lei", "contact_mobile": "13800138000",
            "purposes": ["procure", "find_partners"], "registered_capital_10k_cny": "500", "nature": "private",
            "turnover_last_year_10k_usd": "120", "import_modes": ["general_trade"],
            "import_last_year_10k_usd": "30", "import_three_years_10k_usd": "80",
            "procurement_intentions": [{"area": "food_agriculture", "categories": ["dairy"]}]})

    def add_person(self, id_number: str | None = None, submit: bool = True, label: str = "visitor",
                   name: str = "张三") -> dict:
        person = self.call("POST", "registration/units/me/personnel", 201, json={
            "name": name, "gender": "male", "region_type": "mainland", "id_type": "resident_id",
            "id_number": id_number or random_resident_id(), "mobile": "13900139000",
            "entry_dates": ["2026-11-06"], "exhibition_area": "consumer_goods", "pickup_method": "courier",
            "requested_label": label, "privacy_consent": True}).json()
        self.call("PUT", f"registration/units/me/personnel/{person['id']}/photo", 200,
                  files={"photo": ("photo.jpg", photo_jpeg(), "image/jpeg")})
        if submit:
            person = self.call("POST", f"registration/units/me/personnel/{person['id']}/submit", 200).json()
        return person

    def submit_unit(self, person_ids: list[str] | None = None) -> dict:
        return self.call("POST", "registration/units/me/submit", 200, json={"person_ids": person_ids or []}).json()

    def progress(self) -> dict:
        return self.call("GET", "registration/units/me/progress", 200).json()

    def step(self, number: int) -> dict:
        return self.progress()["steps"][number - 1]

    def person(self, person_id: str) -> dict:
        return self.call("GET", f"registration/units/me/personnel/{person_id}", 200).json()

    def wait_payable(self, person_ids: list[str], timeout: float = 30) -> list[dict]:
        """Registration and billing hear of a confirmation separately: billing's payable items."""
        def billed() -> list[dict] | None:
            items = self.call("GET", "billing/payables", 200).json()
            return items if set(person_ids) <= {p["person_id"] for p in items} else None
        return wait_for(billed, timeout=timeout, interval=self.poll_interval, message="billing's payable items")

    def wait_person_status(self, person_id: str, status: str, timeout: float = 30) -> dict:
        return wait_for(lambda: (p := self.person(person_id))["status"] == status and p, timeout=timeout,
                        interval=self.poll_interval, message=f"person {person_id} to be {status}")

    def create_order(self, person_ids: list[str], key: str | None = None):
        return self.call("POST", "billing/orders", json={"person_ids": person_ids},
                         headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def start_payment(self, order_no: str, method: str = "alipay", key: str | None = None):
        return self.call("POST", f"billing/orders/{order_no}/payments", json={"method": method},
                         headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def sandbox_pay(self, txn_id: str, notify_times: int = 1) -> None:
        self.call("POST", f"billing/sandbox/payments/{txn_id}/pay", 202, json={"notify_times": notify_times})

    # --- outside parties ------------------------------------------------------------------
    def set_registry(self, uscc: str, name: str) -> None:
        self.call("PUT", f"review/sandbox/registry/{uscc}", 200, json={"name": name})

    def sms(self, phone: str) -> list[dict]:
        return self.call("GET", "notifications/sandbox/sms", 200, params={"phone": phone}).json()
