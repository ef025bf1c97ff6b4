"""Email over IMAP (receiving) and SMTP (sending): the connector factory for email accounts."""

from connectors.email.connector import EmailConnector, from_account
from connectors.email.settings import EmailSettings

__all__ = ["EmailConnector", "EmailSettings", "from_account"]
