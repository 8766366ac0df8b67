"""Badges (证件): per person the check, production, dispatch and tracking, and the card
to download once it is produced."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response as BaseResponse
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..client import ApiProblem
from ..web import CONTACT, FormErrors, api, form_text, login_required

bp = Blueprint("badges", __name__, url_prefix="/badges")
AFTER_SUBMISSION = ("awaiting_check", "check_passed", "check_failed", "in_production", "dispatched", "delivered")


@bp.get("")
@login_required(CONTACT)
def index() -> str:
    people = api().get("registration", "/units/me/personnel", params={"per_page": 200})["items"]
    credentials = {c["person_id"]: c for c in api().get("credentials", "/units/me/credentials")}
    rows: list[dict[str, Any]] = [{"person": p, "credential": credentials.get(p["id"])} for p in people
                                  if p["status"] != "saved"]
    summary = api().get("credentials", "/units/me/summary")
    waiting_for_address = any(r["credential"] and r["credential"]["status"] == "produced"
                              and r["credential"]["pickup_method"] == "courier" for r in rows)
    no_address = waiting_for_address and not api().get("registration", "/units/me/addresses")
    requests: dict[str, dict[str, Any]] = {}
    for r in api().get("credentials", "/units/me/reissue-requests"):  # newest first: the latest per card
        requests.setdefault(r["credential_no"], r)
    return render_template("badges/index.html", rows=rows, summary=summary, no_address=no_address,
                           requests=requests)


@bp.post("/<credential_no>/reissue")
@login_required(CONTACT)
def reissue(credential_no: str) -> BaseResponse:
    """补证: ask for a new card for a lost or damaged one."""
    reason = form_text("reason", 10)
    body = {"reason": reason if reason in ("lost", "damaged") else "lost", "remarks": form_text("remarks", 200) or None}
    try:
        api().send("POST", "credentials", f"/units/me/credentials/{credential_no}/reissue-requests", json=body)
    except ApiProblem as problem:
        flash(FormErrors.message_of(problem), "error")
    else:
        flash(_("Your request for a new badge was sent. The old badge is void once the new one is issued."), "success")
    return redirect(url_for("badges.index"))


def _card(credential_no: str, kind: str) -> Response:
    answer = api().call("GET", "credentials", f"/credentials/{credential_no}/card.{kind}")
    safe = "".join(c for c in credential_no if c.isalnum())[:40] or "card"
    disposition = f"attachment; filename=badge-{safe}.pdf" if kind == "pdf" else f"inline; filename=badge-{safe}.png"
    return Response(answer.content, mimetype="application/pdf" if kind == "pdf" else "image/png",
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})


@bp.get("/<credential_no>/card.png")
@login_required(CONTACT)
def card_png(credential_no: str) -> Response:
    return _card(credential_no, "png")


@bp.get("/<credential_no>/card.pdf")
@login_required(CONTACT)
def card_pdf(credential_no: str) -> Response:
    return _card(credential_no, "pdf")
