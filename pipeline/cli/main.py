"""The program's entry point: every command of the CLI, the demo's included, run with Vietnamese
output on any console (`python -m pipeline`, the `baocao` script)."""

from __future__ import annotations

import sys

from pipeline.cli import demo  # noqa: F401  (registers the `demo` command on the group)
from pipeline.cli.commands import cli

__all__ = ["cli", "main"]


def main() -> None:
    # Windows consoles may not default to UTF-8; Vietnamese must still print.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    try:
        cli(prog_name="python -m pipeline")
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
