"""Run a command that dies with the process that started it, however that process ends
(Ctrl-C, SIGKILL, a closed terminal, the out-of-memory killer):

    python -I -S deploy/tether.py SIGNAL PARENT_PID -- command [args...]

Linux's PR_SET_PDEATHSIG makes the kernel send SIGNAL to this process when its parent
ends; the setting survives the exec of `command`, so the command itself gets the signal.
Without it, a piece started in a session of its own lives on as an orphan that holds its
port and keeps consuming from the broker. Run with -I -S: only the standard library is
needed, and the command starts a few milliseconds later, not a whole interpreter later.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def tie_to_parent(sig: signal.Signals) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (AttributeError, OSError):  # not Linux
        return False


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: tether.py SIGNAL PARENT_PID -- command [args...]")
    sig, parent, command = signal.Signals[argv[0]], int(argv[1]), argv[3:]
    if not tie_to_parent(sig):
        print(f"tether: cannot tie {command[0]} to its parent; it may outlive it", file=sys.stderr)
    if os.getppid() != parent:  # the parent ended before the tie was made: nobody wants this piece
        sys.exit(1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
