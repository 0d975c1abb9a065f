"""Errors a user can cause: the CLI prints their message on one line and exits with their code."""


class AlignError(Exception):
    """A problem with the input or the environment that the user can fix."""

    exit_code = 2


class InputError(AlignError):
    """The input cannot be read or holds no usable bilingual text."""


class ModelError(AlignError):
    """The sentence encoder cannot be loaded."""

    exit_code = 3


class OutputError(AlignError):
    """The outputs cannot be written."""

    exit_code = 4
