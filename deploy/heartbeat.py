"""Liveness of a worker, for a probe: exit status 0 when its heartbeat is fresh, 1 otherwise.

    python -m deploy.heartbeat billing [--max-age 60]

The file is the one the worker writes (shared.heartbeat: `WORKER_HEARTBEAT_FILE`, or one
per service in the temporary folder)."""
from __future__ import annotations

import argparse
import sys

from shared.config import SERVICES
from shared.heartbeat import DEFAULT_MAX_AGE_SECONDS, age, heartbeat_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.heartbeat", description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS,
                        help="seconds a heartbeat stays fresh (default %(default)s)")
    args = parser.parse_args(argv)
    path = heartbeat_path(args.service)
    seconds = age(path)
    if seconds is None:
        print(f"{args.service} worker: no heartbeat at {path}", file=sys.stderr)
        return 1
    if seconds > args.max_age:
        print(f"{args.service} worker: last heartbeat {seconds:.0f}s ago (more than {args.max_age:.0f}s)",
              file=sys.stderr)
        return 1
    print(f"{args.service} worker: alive, last heartbeat {seconds:.1f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
