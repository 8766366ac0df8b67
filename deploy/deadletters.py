"""List and replay a service's dead letters from a shell (the same as its API's
/ops/dead-letters routes), with the service's own configuration:

    python -m deploy.deadletters billing list [--status dead|replayed|any] [--type PaymentConfirmed]
    python -m deploy.deadletters billing replay ID [ID ...]
    python -m deploy.deadletters billing replay --type PersonnelConfirmed [--queue QUEUE]
    python -m deploy.deadletters billing replay --all

A replay sends each chosen message back to the queue it died in with a fresh set of
retries; replaying again, or a message that was applied meanwhile, changes nothing.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from shared import deadletters
from shared.config import SERVICES


def service_deps(service: str) -> Any:
    return importlib.import_module(f"services.{service}.bootstrap").bootstrap()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.deadletters", description=__doc__.split("\n\n")[0])
    parser.add_argument("service", choices=SERVICES)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead letters, newest first")
    listing.add_argument("--status", choices=["dead", "replayed", "any"], default="dead")
    listing.add_argument("--type", dest="event_type")
    listing.add_argument("--queue")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    replay = commands.add_parser("replay", help="send dead letters back to their queues")
    replay.add_argument("ids", nargs="*")
    replay.add_argument("--type", dest="event_type")
    replay.add_argument("--queue")
    replay.add_argument("--all", action="store_true", help="every replayable dead letter")
    args = parser.parse_args(argv)

    deps = service_deps(args.service)
    if args.command == "list":
        which = deadletters.Filter(event_type=args.event_type, queue=args.queue,
                                   status=None if args.status == "any" else args.status)
        with deps.uow() as (session, _):
            page = deadletters.listing(session, deps.dead_letter_model, which, max(1, args.page), 100)
        if args.json:
            print(json.dumps(page, default=str, ensure_ascii=False, indent=2))
            return 0
        print(f"{page['total']} dead letter(s) of {args.service} ({args.status})")
        for row in page["items"]:
            print(f"{row['id']}  {row['last_dead_at']:%Y-%m-%d %H:%M}  {row['status']:<8} "
                  f"{row['event_type'] or '-':<24} x{row['times_dead']}  {row['reason'][:100]}")
        return 0
    try:
        result = deadletters.replay(deps, deadletters.Filter(ids=args.ids, event_type=args.event_type,
                                                             queue=args.queue), everything=args.all)
    except deadletters.NothingChosen as exc:
        parser.error(exc.message)
    print(f"replayed {len(result.replayed)}, skipped {len(result.skipped)}")
    for skipped in result.skipped:
        print(f"  skipped {skipped['id']}: {skipped['reason']}")
    return 0 if not any(s["reason"] == "broker_unavailable" for s in result.skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
