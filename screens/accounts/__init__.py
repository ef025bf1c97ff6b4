"""The account set-up screen."""
