"""Links registration hands out into the portal. The portal's sign-up page is `/register`
(GET renders the form, prefilled from `invitation` — a one-click invitation's token — and
`ref` — a referring unit's code); links are absolute, from PUBLIC_BASE_URL (the gateway,
which serves the portal at its root)."""
from __future__ import annotations

from urllib.parse import urlencode

SIGN_UP_PAGE = "/register"


def sign_up_link(public_base_url: str, **query: str | None) -> str:
    """The sign-up page with its query (`invitation=…` or `ref=…`), encoded; a parameter
    without a value is left out."""
    given = {name: value for name, value in query.items() if value is not None}
    return f"{public_base_url.rstrip('/')}{SIGN_UP_PAGE}" + (f"?{urlencode(given)}" if given else "")
