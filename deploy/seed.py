"""`python -m deploy.seed`: review's idempotent seed (the Guangdong and Fujian delegations,
the edition's settings and, with REVIEW_ADMIN_PASSWORD, an organising-committee admin)."""
from __future__ import annotations

from services.review.bootstrap import bootstrap
from services.review.domain.organisations import seed_defaults


def seed(admin_password: str | None = None) -> None:
    deps = bootstrap()
    with deps.uow() as (session, emit):
        seed_defaults(session, emit, deps.settings.edition, admin_password or deps.settings.get("ADMIN_PASSWORD"))


if __name__ == "__main__":
    seed()
