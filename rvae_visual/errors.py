"""Errors that carry one line for the user: what file, what is wrong."""


class InputError(Exception):
    """Bad user input (a file, an option); the message is one line naming the file."""


class ClipError(InputError):
    """A MIDI clip that cannot be used; the message names the file and the reason."""
