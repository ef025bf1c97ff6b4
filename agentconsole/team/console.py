"""Names for one running process (a console or a sync loop) that other processes can check on."""

from __future__ import annotations

import os
import socket
import uuid


def console_id() -> str:
    """host:pid:token; the token keeps two consoles in one process (tests) apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def alive(owner: str) -> bool:
    """False only when *owner* is provably gone: a process of this host that no longer exists."""
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True  # another host's process: only its expiry time can retire it
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(owner: str) -> str:
    """"pid 4242 on host" for the banner."""
    parts = owner.split(":")
    if len(parts) >= 2:
        here = parts[0] == socket.gethostname()
        return f"pid {parts[1]}" + ("" if here else f" on {parts[0]}")
    return owner
