"""The processes that work beside the officer's command (pipeline/common/forked.py: the Excel
workbook; pipeline/report/drawing.py: the charts) end whatever happens to the command or to them:
an interrupted wait stops the copy, a copy whose reader is gone stops, and a drawing process that
dies leaves its charts to be drawn by the command, never a command waiting for ever."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest

from pipeline.common.forked import Forked, fork_helps

BIG = 4 << 20   # far more than a pipe holds: the sender blocks until it is read

pytestmark = pytest.mark.skipif(not fork_helps() or "fork" not in multiprocessing.get_all_start_methods(),
                                reason="!!! the helper processes need two cores and fork: not tested here")


def _big(seconds: float) -> bytes:
    time.sleep(seconds)
    return b"x" * BIG


def _gone(process, seconds: float = 10) -> bool:
    process.join(seconds)
    alive = process.is_alive()
    if alive:   # (a failure here leaves nothing running)
        process.kill()
        process.join()
    return not alive


def test_the_result_of_a_forked_copy_and_its_exception():
    assert Forked(_big, 0).result() == b"x" * BIG

    def failing():
        raise ValueError("hỏng")

    with pytest.raises(ValueError, match="hỏng"):
        Forked(failing).result()


def test_an_interrupted_wait_stops_the_copy():
    """Ctrl+C while the command waits for the workbook: the interrupt is raised at once and the
    copy (which ignores Ctrl+C, and would block sending a workbook nobody reads) is stopped."""
    work = Forked(_big, 0.3)
    process = work._process

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    watchdog = threading.Timer(10, process.kill)   # (a wait that hangs fails this test, not the suite)
    watchdog.start()
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            work.result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        watchdog.cancel()
    assert time.monotonic() - started < 5
    assert _gone(process, 1)


def test_a_copy_whose_reader_is_gone_stops():
    """The command's process gone (its end of the pipe closed): the copy's send fails, and it ends
    instead of holding the terminal's output open for ever."""
    work = Forked(_big, 0.2)
    work._from.close()
    assert _gone(work._process)


def test_a_drawing_process_that_dies_leaves_its_charts_to_the_command(monkeypatch):
    """The first drawing process dies after it forked its copy (which is blocked sending a chart
    larger than the pipe holds): the command draws the dead one's charts itself, takes the copy's,
    and does not wait for ever."""
    import pipeline.report.drawing as drawing

    officer = os.getpid()

    def draw(function, args):
        if os.getpid() != officer and os.getpid() == os.getpgrp():   # the first drawing process
            os.kill(os.getpid(), signal.SIGKILL)
        return (function, os.getpid() == officer, b"x" * BIG)

    monkeypatch.setattr(drawing, "draw", draw)
    keys = ["task_status", "commune:A", "commune:B", "commune:C", "completeness"]
    received = {}
    with drawing.second_process() as helper:
        assert helper is not None
        pictures = helper.draw({key: (key, ()) for key in keys})
        group = helper._process.pid
        reader = threading.Thread(target=lambda: received.update({key: pictures[key] for key in keys}),
                                  daemon=True)
        reader.start()
        reader.join(30)
        hung = reader.is_alive()
        if hung:   # (a failure here leaves nothing running)
            os.killpg(group, signal.SIGKILL)
    assert not hung
    mine, copys = drawing._shares(keys)
    assert {key: value[0] for key, value in received.items()} == {key: key for key in keys}
    assert all(received[key][1] for key in mine)          # the dead process's: drawn by the command
    assert not any(received[key][1] for key in copys)     # the copy's: drawn by the copy
