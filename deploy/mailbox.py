"""A local SMTP server for the one-machine run: every message lands as a .eml file."""
from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class Maildir:
    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        (self.path / name).write_bytes(envelope.content)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args()
    controller = Controller(Maildir(Path(args.dir)), hostname="127.0.0.1", port=args.port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
