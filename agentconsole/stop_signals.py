"""The signals that ask a process to stop (a closed terminal, SIGTERM), handled on its asyncio loop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

STOP_SIGNALS = ("SIGHUP", "SIGTERM")


def on_stop_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[str], object]) -> None:
    """Call *callback* with the signal's name on *loop* when SIGHUP or SIGTERM arrives, instead of the
    process dying at once; where the loop cannot take signal handlers (Windows, a loop outside the main
    thread) the defaults stay."""
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            loop.add_signal_handler(number, callback, name)
        except (NotImplementedError, RuntimeError, ValueError):  # loop signal handlers unsupported here
            return
