"""The finance, operations and gate desks' wiring: the vendored QR reader is the file its
integrity hash names, with its licence; every desk's menu entry is open to exactly the
roles its pages serve."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from services.portal.app import create_app
from services.portal.bootstrap import build
from services.portal.admin_menu import MENU
from services.portal.pages import gate
from tests.unit.test_portal import FakeApi, settings

VENDOR = Path(__file__).resolve().parents[2] / "services" / "portal" / "static" / "vendor" / "jsqr"


def test_the_vendored_qr_reader_matches_its_integrity_hash():
    data = (VENDOR / "jsQR.js").read_bytes()
    sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert sri == gate.JSQR_SRI, f"the vendored file changed: JSQR_SRI = {sri!r} (scripts/vendor-jsqr)"
    assert "Apache License" in (VENDOR / "LICENSE").read_text()


def test_desk_menus_are_open_to_the_roles_their_pages_serve():
    app = create_app(build(settings(), api_wsgi=FakeApi()))
    desks = {"admin_finance": {"finance", "organising_committee"},
             "admin_operations": {"operations", "organising_committee"}, "admin_gate": {"gate_staff"}}
    for item in MENU:
        blueprint = item.endpoint.split(".")[0]
        if blueprint in desks:
            assert set(item.roles) == desks[blueprint], item.endpoint
            view = app.view_functions[item.endpoint]
            assert set(view.admin_roles) == desks[blueprint], item.endpoint
    assert {i.endpoint.split(".")[0] for i in MENU} >= set(desks)
