"""The one exception type that tools turn into a clean diagnostic.

Engines raise `HagoError` for bad user input (a file, a model, an option); tools
print its message and exit non-zero, without a Python traceback. Bugs stay
ordinary exceptions, so that they are not mistaken for user errors.
"""


class HagoError(Exception):
    """A problem with the user's input, with a message that names where it is."""
