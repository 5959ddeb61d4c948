"""Errors whose message is meant for the person at the keyboard (printed without traceback)."""


class UserFacingError(Exception):
    """A clear, actionable message: what went wrong and what to do about it."""
