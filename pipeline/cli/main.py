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
    except SystemExit as done:   # how click ends every command, its exit code inside
        exit_now(done.code)
        raise


def exit_now(code) -> None:
    """Ends the process with `code` (as sys.exit reads it) once the command is done, without the
    interpreter's teardown of every module, which costs pandas alone about 0.15 s: the output is
    flushed and the atexit handlers run first, as at a normal exit. Only when no other non-daemon
    thread is running (a normal exit would wait for it, so then the normal exit is taken), and
    not under a profiler or a tracer (cProfile, coverage), which write their results at the exit."""
    import atexit
    import os
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others or sys.getprofile() is not None or sys.gettrace() is not None or _monitored():
        return   # (a daemon thread, tqdm's monitor say, is not waited for by a normal exit either)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:                      # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):   # a closed pipe: nothing more can be said
        pass
    atexit._run_exitfuncs()
    os._exit(status)


def _monitored() -> bool:
    """A tool watching through sys.monitoring (Python 3.12+: cProfile, coverage's sysmon core),
    which writes its results at the exit."""
    monitoring = getattr(sys, "monitoring", None)
    return monitoring is not None and any(monitoring.get_tool(tool) is not None for tool in range(6))
