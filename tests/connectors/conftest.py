"""Fixtures shared by the connector tests."""

from tests.connectors.mailservers import folder, mail_servers  # noqa: F401  (registers the fixtures)
