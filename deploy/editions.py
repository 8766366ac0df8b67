"""The fair's editions in this deployment.

    python -m deploy.editions status    the profile's editions, the active one, the next one,
                                        and how many units registration holds per edition
    python -m deploy.editions next      the id of the edition after the active one (what
                                        FAIR_EDITION is set to when operations open it)

The active edition is configuration: `FAIR_EDITION` (default: the profile's `current_edition`).
Opening the next edition is setting it to the profile's next edition and restarting every
service and the portal; the editions before it stay in the same databases, read-only (a unit
logs in to one with the login's `edition` field), and returning units and credential reuse
read them (README, "Opening the next edition (operations)")."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from shared.config import load_settings
from shared.fair import FairProfile, fair


def units_per_edition(database_url: str) -> dict[str, int] | None:
    """Registration's units by edition; None when its database does not answer."""
    from services.registration.models import Unit
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Unit.edition, func.count()).group_by(Unit.edition)).all()
        return {str(edition): int(count) for edition, count in rows}
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def status_lines(profile: FairProfile, active: str, counts: dict[str, int] | None) -> list[str]:
    previous = {e.id for e in profile.previous_editions(active)}
    nxt = profile.next_edition(active)
    lines = [f"fair: {profile.name('en')} ({profile.key}); active edition: {active}"
             + ("" if active in {e.id for e in profile.editions} else " (not in the profile)")]
    for e in profile.editions:
        state = ("active" if e.id == active else "closed, read-only" if e.id in previous
                 else "next" if nxt is not None and e.id == nxt.id else "later")
        units = "?" if counts is None else str(counts.get(e.id, 0))
        lines.append(f"  {e.id:<14} edition {e.number:<3} {e.days_text}  {state:<18} units: {units}")
    back = int(profile.data["reuse_editions"])
    lines.append(f"credential reuse reaches back {back} edition(s): "
                 + (", ".join(e.id for e in profile.previous_editions(active, back)) or "none"))
    if counts is None:
        lines.append("(registration's database did not answer: unit counts unknown)")
    lines.append(f"to open the next edition: FAIR_EDITION={nxt.id}, then restart every service and the portal"
                 if nxt is not None else "the profile lists no edition after the active one: add it to the profile first")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.editions", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("status", "next"))
    args = parser.parse_args(argv)
    profile, settings = fair(), load_settings("registration")
    if args.command == "next":
        nxt = profile.next_edition(settings.edition)
        if nxt is None:
            print(f"no edition after {settings.edition} in the {profile.key} profile", file=sys.stderr)
            return 1
        print(nxt.id)
        return 0
    print("\n".join(status_lines(profile, settings.edition, units_per_edition(settings.database_url))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
