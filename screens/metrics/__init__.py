"""The metrics screen."""
