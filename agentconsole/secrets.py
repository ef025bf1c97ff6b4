"""Account secrets: the OS keyring when a real one exists, else a password command or an environment
variable. Never plaintext, never the config or the database."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "agentconsole"
_PLAINTEXT_BACKENDS = ("PlaintextKeyring", "fail.Keyring", "null.Keyring")


class SecretUnavailable(Exception):
    """No secret could be found or stored; the message names every way to provide one."""


def env_var_name(account: str) -> str:
    """AGENTCONSOLE_SECRET_<ACCOUNT>, upper-cased, with anything but letters and digits as '_'."""
    return "AGENTCONSOLE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", account).upper()


def _how_to(account: str) -> str:
    """Advice that works when followed, whatever kind of account it is."""
    return (f"export {env_var_name(account)}=<the secret> before starting agentconsole, or give the account "
            f"a password_command: remove it (agentconsole account remove {account}) and add it again with "
            "--password-command CMD (email) or --token-command CMD (Mastodon), e.g. 'pass show shop/imap'")


def keyring_backend() -> KeyringBackend | None:
    """The usable OS keyring backend, or None when there is only a fail/null/plaintext one."""
    try:
        import keyring
        from keyring.backends import chainer
    except ImportError:
        return None
    backend = keyring.get_keyring()
    candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    for candidate in candidates:
        name = f"{type(candidate).__module__}.{type(candidate).__name__}"
        if getattr(candidate, "priority", 0) > 0 and not name.endswith(_PLAINTEXT_BACKENDS):
            return backend
    return None


def store_secret(account: str, secret: str) -> str:
    """Put *secret* in the OS keyring; returns a description of where it went."""
    backend = keyring_backend()
    if backend is None:
        raise SecretUnavailable(
            f"there is no OS keyring on this host to keep the secret of '{account}' (no Secret Service "
            "such as gnome-keyring or KWallet is running); give the account a password_command instead: "
            "--password-command CMD (email) or --token-command CMD (Mastodon), e.g. 'pass show shop/imap'; "
            f"or export {env_var_name(account)} and add the account without giving the secret")
    try:
        backend.set_password(SERVICE, account, secret)
    except Exception as exc:  # a locked collection, a D-Bus failure: keyring's errors are many
        raise SecretUnavailable(f"the OS keyring refused to keep the secret of '{account}' ({exc}); unlock "
                                "it and try again, or give the account a password_command instead") from exc
    return f"OS keyring ({type(backend).__name__})"


def keyring_secret(key: str) -> str | None:
    """What the OS keyring holds under *key*, None when there is no keyring or nothing there."""
    backend = keyring_backend()
    if backend is None:
        return None
    try:
        secret = backend.get_password(SERVICE, key)
    except Exception as exc:  # locked, or the Secret Service went away
        raise SecretUnavailable(f"the OS keyring could not be read for '{key}' ({exc}); unlock it") from exc
    return secret or None


def delete_secret(account: str) -> None:
    backend = keyring_backend()
    if backend is None:
        return
    try:
        backend.delete_password(SERVICE, account)
    except Exception:  # nothing stored there: nothing to delete
        pass


def load_secret(account: str, settings: Mapping[str, object] | None = None,
                environ: Mapping[str, str] | None = None) -> str:
    """The account's secret: its password_command, else its environment variable, else the keyring."""
    settings = settings or {}
    environ = os.environ if environ is None else environ
    command = settings.get("password_command")
    if command:
        return _run_password_command(account, str(command))
    value = environ.get(env_var_name(account))
    if value:
        return value
    backend = keyring_backend()
    if backend is not None:
        try:
            secret = backend.get_password(SERVICE, account)
        except Exception as exc:  # locked, or the Secret Service went away
            raise SecretUnavailable(f"the OS keyring could not be read for '{account}' ({exc}); unlock it, "
                                    f"or {_how_to(account)}") from exc
        if secret:
            return secret
        raise SecretUnavailable(f"the OS keyring holds no secret for '{account}': {_how_to(account)}")
    raise SecretUnavailable(f"no secret for '{account}' (this host has no OS keyring): {_how_to(account)}")


def _run_password_command(account: str, command: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise SecretUnavailable(f"password_command for '{account}' could not run ({exc}); fix the command, "
                                "or remove the account and add it again with a working one") from exc
    if done.returncode != 0:
        said = done.stderr.strip()[:200]
        raise SecretUnavailable(f"password_command for '{account}' exited with {done.returncode}"
                                + (f" ({said})" if said else "") + "; run it yourself to see why")
    secret = done.stdout.split("\n", 1)[0]  # like pass(1): the first line is the secret
    if not secret:
        raise SecretUnavailable(f"password_command for '{account}' printed nothing; it must print the "
                                "secret on its first line")
    return secret
