"""The contract between the core and the channel plug-ins."""
