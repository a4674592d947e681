"""The ``varidex`` command. It loads the CLI (pandas, pyarrow: about half a second) inside a
guard, so a Ctrl-C in that time ends it with exit 130 and one line, not a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from varidex.gnomad.cli import entry_point
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    entry_point()
