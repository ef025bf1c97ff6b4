"""A PostgreSQL workspace lost in the middle of a command is said in one sentence, not called a bug."""

from __future__ import annotations

import psycopg
import psycopg_pool

from agentconsole import failures


def test_a_lost_server_connection_is_an_operational_error_with_what_to_do():
    exc = psycopg.OperationalError('connection to server at "127.0.0.1", port 55432 failed: Connection refused\n'
                                   "\tIs the server running on that host?\x1b[2J")
    said = failures.describe(exc)
    assert said is not None and said.startswith("the workspace server cannot be reached (connection to server")
    assert "Connection refused" in said and "agentconsole db set-password" in said
    assert "\x1b" not in said and "Is the server running" not in said  # one line, terminal escapes gone


def test_a_pool_that_gives_no_connection_in_time_says_so():
    said = failures.describe(psycopg_pool.PoolTimeout("couldn't get a connection after 30.00 sec"))
    assert said is not None and "gave no connection in time" in said


def test_other_psycopg_errors_stay_bugs():
    assert failures.describe(psycopg.ProgrammingError("syntax error at or near SELEC")) is None
