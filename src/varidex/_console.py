"""The ``varidex`` command. It loads the CLI (pandas, pyarrow: about half a second) inside a
guard, so a Ctrl-C or SIGTERM in that time ends it with exit 130 or 143 and one line, not a
traceback or a silent death."""

from __future__ import annotations

import signal
import sys
from typing import Any


class _Terminated(BaseException):
    pass


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated


def main() -> None:
    # Until the CLI sets its own handler (its first step), and again once it has run.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from varidex.gnomad.cli import entry_point

        entry_point()
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except _Terminated:
        print("error: terminated (SIGTERM)", file=sys.stderr)
        raise SystemExit(143) from None
