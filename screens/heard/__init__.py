"""The Heard view: brand talk found by the accounts' keywords and hashtags."""
