"""Work done on a second core by a forked copy of this process.

`fork_helps()` says whether that is possible and worth it here: several cores, a system that can
fork (not Windows, where a new process starts by importing everything again) and the main thread
(not a job of the web server, beside whose other threads a fork may copy a lock held for ever).

`Forked(function, *args)` computes `function(*args)` in a forked copy of this process while this
one goes on: the copy has the arguments as they are (nothing is sent but the result) and whatever
this process imported. `result()` waits for it; should the copy die, the result is computed here.
Where forking does not help, the result is computed at once, here.
"""

from __future__ import annotations

import multiprocessing
import os
import threading


def fork_helps() -> bool:
    return ((os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()
            and threading.current_thread() is threading.main_thread())


class Forked:
    def __init__(self, function, *args, nice: int = 0):
        self._function, self._args = function, args
        self._process = None
        if not fork_helps():
            self._done, self._value = True, function(*args)
            return
        context = multiprocessing.get_context("fork")
        self._from, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(function, args, sender, self._from, nice), daemon=True)
        try:
            self._process.start()   # (multiprocessing flushes this process's output before it forks)
        except OSError:   # no process to be had (EAGAIN, ENOMEM): computed here
            self._from.close()
            sender.close()
            self._process = None
            self._done, self._value = True, function(*args)
            return
        sender.close()
        self._done, self._value = False, None

    def result(self):
        if not self._done:
            try:
                failed, value = self._from.recv()
            except (EOFError, OSError):   # the copy died: the work is done here
                self._done = True
                self._end()
                failed, value = False, self._function(*self._args)
            except BaseException:   # interrupted while waiting: the copy is stopped, not waited for
                self.cancel()
                raise
            else:
                self._done = True
                self._end()
            self._value = value
            if failed:
                raise value
        return self._value

    def cancel(self) -> None:
        """Not needed any more (the caller failed): the copy is stopped."""
        if not self._done:
            self._done = True
            self._process.kill()
            self._end()

    def _end(self) -> None:
        self._process.join()
        self._from.close()


def _run(function, args, sender, theirs, nice: int) -> None:
    """In the copy: Ctrl+C is for the officer's process (which stops this one); `theirs`: the
    officer's end of the pipe, closed here (so that, should the officer's process be gone, sending
    fails instead of waiting for ever); `nice`: how far behind other work on the cores; the result
    or the exception sent back (an exception that cannot be pickled as its text)."""
    import signal

    theirs.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    try:
        message = (False, function(*args))
    except Exception as exc:  # noqa: BLE001 - the caller raises it
        message = (True, exc)
    try:
        sender.send(message)
    except Exception:  # noqa: BLE001 - not picklable
        sender.send((True, RuntimeError(f"{type(message[1]).__name__}: {message[1]}")))
