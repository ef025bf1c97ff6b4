"""Email over IMAP (receiving) and SMTP (sending): the connector factory for email accounts."""

from .connector import EmailConnector, from_account
from .settings import EmailSettings

__all__ = ["EmailConnector", "EmailSettings", "from_account"]
