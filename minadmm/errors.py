"""The one exception for bad input: a value, file or setting the user gave that minadmm cannot use.

Every check of user input raises ``InputError`` with the offending value and what would be valid; the CLI
prints it as one line. Any other exception is a bug and keeps its traceback. ``InputError`` is a
``ValueError``, so ``except ValueError`` still catches it.
"""


class InputError(ValueError):
    """Bad input: the message names the bad value and what would be valid."""
