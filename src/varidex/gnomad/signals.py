"""Ctrl-C and SIGTERM held back over steps that must not be cut in two.

Python runs a signal's handler in the main thread at the next bytecode, wherever that is
(whatever thread the operating system delivered it to). Inside :func:`held`, SIGINT and
SIGTERM are only noted, and raised again when the block ends; outside the main thread
(where handlers cannot be set, and no KeyboardInterrupt is raised) it changes nothing.
:func:`on_output_complete` lets a program learn the moment an output is in place.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HELD = (signal.SIGINT, signal.SIGTERM)

#: Called with an output's path once it is complete and in place (see AtomicOutput).
_COMPLETE: list[Callable[[str], None]] = []


@contextmanager
def held() -> Iterator[None]:
    """SIGINT and SIGTERM noted during the block and raised again after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in HELD}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


@contextmanager
def on_output_complete(hook: Callable[[str], None]) -> Iterator[None]:
    """Call ``hook(path)`` for each output completed during the block."""
    _COMPLETE.append(hook)
    try:
        yield
    finally:
        _COMPLETE.remove(hook)


def output_complete(path: str) -> None:
    """Tell the hooks that ``path`` is complete and in place."""
    for hook in list(_COMPLETE):
        hook(path)
