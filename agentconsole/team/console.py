"""Names for one running process (a console or a sync loop) that other processes can check on."""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import uuid


@functools.cache
def machine() -> str:
    """A short stable name of this machine beyond its host name (two laptops may both be "laptop"):
    a hash of /etc/machine-id, or of the kernel's boot id; empty when neither can be read."""
    for source in ("/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            with open(source, encoding="ascii") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text:
            return hashlib.sha256(text.encode()).hexdigest()[:8]
    return ""


def console_id() -> str:
    """host:pid:token:machine; the token keeps two consoles in one process (tests) apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{machine()}"


def same_machine(owner: str) -> bool:
    """True when *owner* names a process of this machine (its pid means something here)."""
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    return len(parts) < 4 or not parts[3] or not machine() or parts[3] == machine()


def alive(owner: str) -> bool:
    """False only when *owner* is provably gone: a process of this machine that no longer exists.
    Another machine's process is never judged by its pid: only its stopped heartbeat retires it."""
    if not same_machine(owner):
        return True
    try:
        os.kill(int(owner.split(":")[1]), 0)
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
