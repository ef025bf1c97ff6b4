"""The embedded demo workspace: a simulated small shop's customers on every channel."""
