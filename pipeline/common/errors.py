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


class IngestError(BaocaoError):
    """Ingestion cannot go on; the message names the file concerned."""


class MailError(BaocaoError):
    """The mail settings or the mail server cannot be used (sending or collecting stops)."""


def missing_library_message(module: str | None) -> str:
    """Run outside the project's environment (the system Python): say how to run it instead."""
    return (f"Thiếu thư viện {(module or '').split('.')[0] or 'cần thiết'}: chương trình phải chạy trong môi trường "
            "của dự án. Dùng lệnh make (ví dụ: make units) hoặc, trên Windows, .venv\\Scripts\\python -m pipeline "
            "... trong thư mục dự án (cài lần đầu: make install).")
