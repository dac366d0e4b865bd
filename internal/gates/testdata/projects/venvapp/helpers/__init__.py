"""Helpers of the venv app: a package for the linters to walk into."""


def shout(text):
    """Return text in capitals."""
    return text.upper()
