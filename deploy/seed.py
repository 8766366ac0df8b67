"""`python -m deploy.seed`: review's idempotent seed from the active fair profile (`FAIR`):
its delegations (CIIE: Guangdong and Fujian) or host organisations (CIFTIS, approved, on two
review levels), the edition's settings with the profile's fee and, with
REVIEW_ADMIN_PASSWORD, an organising-committee admin."""
from __future__ import annotations

from services.review.bootstrap import bootstrap
from services.review.domain.organisations import seed_defaults


def seed(admin_password: str | None = None) -> None:
    deps = bootstrap()
    with deps.uow() as (session, emit):
        seed_defaults(session, emit, deps.settings.edition, admin_password or deps.settings.get("ADMIN_PASSWORD"))


if __name__ == "__main__":
    seed()
