"""The workspace on a PostgreSQL server chosen by [storage] url or --storage-url: its password never in the
config or the URL, from the OS keyring (`db set-password`) or libpq's PGPASSWORD; db backup names pg_dump."""

from __future__ import annotations

import io

import keyring
import pytest
from keyring.backend import KeyringBackend

from agentconsole import cli, config
from agentconsole.cli.db import storage_password
from agentconsole.storage.postgres.url import secret_key, without_password
from tests import pg


class MemoryKeyring(KeyringBackend):
    """A real (in-memory) keyring backend, standing in for a desktop Secret Service."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run(argv, capsys, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_url_with_a_password_is_refused_in_the_config_and_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[storage]\nurl = "postgresql://agent:hunter2@db.example.com/helpdesk"\n')
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert "must not contain a password" in str(caught.value) and "hunter2" not in str(caught.value)
    assert "db set-password" in str(caught.value)
    path.write_text('[storage]\nurl = "mysql://db.example.com/helpdesk"\n')
    with pytest.raises(config.ConfigError, match="postgresql://user@host:port/database"):
        config.load(path)
    path.write_text('[storage]\nurl = "postgresql://agent@db.example.com:5433/helpdesk"\n')
    assert config.load(path).storage_url == "postgresql://agent@db.example.com:5433/helpdesk"
    code, out, err = run(["--storage-url", "postgresql://agent:hunter2@db.example.com/x", "db", "check"], capsys)
    assert code == cli.EXIT_ERROR and "must not contain a password" in err and "hunter2" not in err


def test_the_secret_key_names_the_server_without_its_password():
    assert without_password("postgresql://a:pw@h:5432/db") == "postgresql://a@h:5432/db"
    assert secret_key("postgresql://a@h:5432/db") == "storage:postgresql://a@h:5432/db"


def test_set_password_keeps_it_in_the_keyring_and_the_store_opens_with_it(capsys, monkeypatch, memory_keyring):
    url = pg.fresh_database()
    try:
        code, out, _ = run(["db", "set-password", "--url", url], capsys, stdin=pg.PASSWORD + "\n",
                           monkeypatch=monkeypatch)
        assert code == 0 and url in out
        assert memory_keyring.items[("agentconsole", f"storage:{url}")] == pg.PASSWORD
        monkeypatch.delenv("PGPASSWORD")  # nothing but the keyring knows it now
        assert storage_password(url) == pg.PASSWORD
        code, out, err = run(["--storage-url", url, "db", "check"], capsys)
        assert code == 0, err
        assert f"{url}: schema " in out and "every table present" in out
    finally:
        pg.drop(url)


def test_pgpassword_wins_over_the_keyring_on_a_headless_host(monkeypatch, memory_keyring):
    memory_keyring.items[("agentconsole", "storage:postgresql://a@h/db")] = "from-keyring"
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert storage_password("postgresql://a@h/db") is None  # libpq reads PGPASSWORD itself
    monkeypatch.delenv("PGPASSWORD")
    assert storage_password("postgresql://a@h/db") == "from-keyring"


def test_db_backup_of_a_server_workspace_names_pg_dump_and_writes_nothing(tmp_path, capsys, monkeypatch):
    url = pg.fresh_database()
    try:
        monkeypatch.setenv("AGENTCONSOLE_CONFIG", str(tmp_path / "config.toml"))
        (tmp_path / "config.toml").write_text(f'[storage]\nurl = "{url}"\n')
        code, _, err = run(["db", "backup"], capsys)
        assert code == cli.EXIT_ERROR and "pg_dump" in err and url in err
        assert not (tmp_path / "data" / "backups").exists()
    finally:
        pg.drop(url)


def test_a_wrong_password_says_which_server_refused(capsys, monkeypatch):
    url = pg.fresh_database()
    try:
        monkeypatch.setenv("PGPASSWORD", "not-the-password")
        code, _, err = run(["--storage-url", url, "db", "check"], capsys)
        assert code == cli.EXIT_ERROR and f"cannot open the workspace on {url}" in err
        assert "password authentication failed" in err
    finally:
        pg.drop(url)
