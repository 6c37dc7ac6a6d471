"""Exceptions the CLI turns into one Vietnamese line and an exit code, never a traceback."""


class BaocaoError(Exception):
    """A problem the officer can fix (bad input data, a wrong argument)."""

    exit_code = 2


class ConfigError(BaocaoError):
    """The settings or a data file in inputs/ cannot be used."""


class PeriodError(BaocaoError):
    """A malformed or out-of-plan period code."""


class UnknownUnitError(BaocaoError):
    """A unit id that is not in the registry."""


class MatrixError(BaocaoError):
    """The assignment matrix does not pass its checks."""


class MailError(BaocaoError):
    """The mail settings or the mail server cannot be used (sending or collecting stops)."""
