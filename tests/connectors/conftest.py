"""Fixtures shared by the connector tests."""

from .mailservers import folder, mail_servers  # noqa: F401  (registers the fixtures)
