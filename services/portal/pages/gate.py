"""The gate (入口验证), for gate staff on a phone: the badge's QR read through the camera (the
vendored jsQR on the camera's frames, static/gate.js) or its code typed in; the answer
shows the verdict first — valid, or why not — with the holder's photo and name to compare
with the face in front of the staff. Every scan is recorded by credentials' gate
(services/credentials/domain/gate.py); this page only asks it and shows the answer.

Without JavaScript the page is a form: type (or paste from another reader) the code."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, session
from flask_babel import gettext as _, lazy_gettext as _l

from ..admin_menu import menu_item
from ..client import ApiProblem
from ..web import GATE, FormErrors, admin_required, api, form_text

bp = Blueprint("admin_gate", __name__, url_prefix="/admin/gate")
JSQR_VERSION = "1.4.0"
# Subresource integrity of the vendored reader (scripts/vendor-jsqr prints it)
JSQR_SRI = "sha384-b5Ya4Bq3qCyz39m2ISh+4DxjAIljdeFwK/BsXLuj9gugaNwAcj/ia15fxNZL9Nlx"

menu_item("admin_gate.scan", _l("Gate check"), (GATE,), order=500,
          description=_l("Scan a badge with the phone's camera, or type its code, and see whether to admit."))


def _gate_settings() -> dict[str, str]:
    """The gate and direction this phone works at, kept for the next scan."""
    kept = session.get("gate_desk")
    kept = kept if isinstance(kept, dict) else {}
    return {"gate": str(kept.get("gate") or ""), "direction": str(kept.get("direction") or "in")}


def _page(errors: FormErrors, values: dict[str, str], answer: dict[str, Any] | None = None, status: int = 200) -> Any:
    return render_template("gate/scan.html", errors=errors, values=values, answer=answer,
                           jsqr="vendor/jsqr/jsQR.js", jsqr_sri=JSQR_SRI), status


@bp.get("")
@admin_required(GATE)
def scan() -> Any:
    return _page(FormErrors(), {**_gate_settings(), "payload": ""})


@bp.post("")
@admin_required(GATE)
def check() -> Any:
    values = {"gate": form_text("gate", 40), "direction": form_text("direction", 3), "payload": ""}
    payload = (request.form.get("payload") or "").strip()[:1000]
    errors = FormErrors()
    if not values["gate"]:
        errors.add("gate", _("Say at which gate you are."))
    if values["direction"] not in ("in", "out"):
        values["direction"] = "in"
    if not payload:
        errors.add("payload", _("Scan the badge or type its code."))
    if errors:
        return _page(errors, {**values, "payload": payload}, status=400)
    session["gate_desk"] = {"gate": values["gate"], "direction": values["direction"]}
    try:
        answer = api().send("POST", "credentials", "/gate/scans",
                            json={"payload": payload, "gate": values["gate"], "direction": values["direction"]})
    except ApiProblem as problem:
        errors.add_problem(problem, known={"gate", "payload", "direction"})
        return _page(errors, {**values, "payload": payload}, status=400)
    return _page(FormErrors(), values, answer)
