"""The report's charts drawn beside the process that writes the report: two processes of their
own, started before the figures are known, that have imported matplotlib and drawn a first small
figure by the time they are sent what each chart shows (`pipeline.report.model.chart_input`, plain
lists and dicts: neither process imports pandas). The officer's command starts them before it
ingests (`second_process`); the Word report takes each chart as it comes.

Light to import (no pandas, no matplotlib): the command imports this first.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

from pipeline.common.forked import fork_helps


def draw(function: str, args: tuple):
    """A chart drawn from its `chart_input` (pipeline.report.charts, imported here: matplotlib only
    where a chart is drawn)."""
    from pipeline.report import charts

    return getattr(charts, function)(*args)


@contextmanager
def second_process():
    """The process that draws the charts (`Beside`; it imports matplotlib at once), where forking
    helps (pipeline/common/forked.py); else None, and the caller draws them. The process is ended on
    the way out, used or not (the kept rendering may have been enough)."""
    if not fork_helps():
        yield None
        return
    try:
        helper = Beside()
    except OSError:   # no process to be had (EAGAIN, ENOMEM): the caller draws
        yield None
        return
    try:
        yield helper
    finally:
        helper.end()


class Beside:
    """The chart-drawing processes: one forked at once (a plain process and pipes: no thread in
    this process until there is something to send, so a fork after it, the ingestion's readers,
    copies no thread's lock), which imports matplotlib and draws a first small figure, then waits.
    `draw` sends it what each chart shows; it forks a copy of itself, warm, and the two draw their
    shares (`_shares`) in the report's order, each chart sent back as it is drawn. The charts come
    as a Mapping whose items are received when first asked for. Should a process die, the charts it
    had not sent are drawn in this one."""

    def __init__(self):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        inbox, self._to = context.Pipe(duplex=False)
        pipes = [context.Pipe(duplex=False) for _ in range(2)]
        self._from = [reader for reader, _ in pipes]
        outboxes = [writer for _, writer in pipes]
        # (the process closes this one's ends of the pipes, so that a drawing process whose reader is
        # gone finds out when it sends)
        self._process = context.Process(target=_serve, args=(inbox, outboxes, [self._to, *self._from]), daemon=True)
        try:
            self._process.start()   # (multiprocessing flushes this process's output before it forks)
        except OSError:
            for connection in (inbox, self._to, *self._from, *outboxes):
                connection.close()
            raise
        inbox.close()
        for writer in outboxes:
            writer.close()
        self._inputs: dict = {}
        self._pipe: dict[str, int] = {}    # key -> the pipe it comes by
        self._received: dict = {}
        self._dead = [False, False]

    def draw(self, inputs: dict[str, tuple]) -> Mapping:
        """The charts of `inputs` (key -> `chart_input`), in that order. Sent by a thread: should
        the process still be importing, this one goes on meanwhile."""
        import threading

        self._inputs = inputs
        self._pipe = {key: n for n, share in enumerate(_shares(list(inputs))) for key in share}
        threading.Thread(target=self._send, args=(list(inputs.items()),), daemon=True).start()
        return _Drawn(self, list(inputs))

    def _send(self, message) -> None:
        try:
            self._to.send(message)
        except Exception:  # noqa: BLE001 - the process died, or the inputs could not be sent
            # (closed: the drawing process, should it still live, ends; the charts are drawn here)
            self._to.close()

    def wait_ready(self) -> None:
        """Until the process has imported matplotlib and drawn its first figure (what a benchmark
        of the rendering alone waits for)."""
        self._until(_READY, 0)

    def _until(self, key: str, pipe: int) -> bool:
        while key not in self._received and not self._dead[pipe]:
            try:
                got, value = self._from[pipe].recv()
            except (EOFError, OSError):
                self._dead[pipe] = True
                break
            if got is None:
                raise value   # what drawing raised there
            self._received[got] = value
        return key in self._received

    def _receive(self, key: str):
        return self._received[key] if self._until(key, self._pipe[key]) else draw(*self._inputs[key])

    def end(self) -> None:
        """The processes ended: they have, when every chart was sent; else (not needed, or the
        rendering failed or was interrupted) killed (the copy stops when it finds nobody listens)."""
        if not self._inputs or any(key not in self._received for key in self._inputs):
            import os
            import signal

            try:
                os.killpg(self._process.pid, signal.SIGKILL)   # (it and its copy: a group of their own)
            except OSError:
                self._process.kill()
        self._process.join()
        self._to.close()
        for reader in self._from:
            reader.close()


def _shares(keys: list[str]) -> tuple[list[str], list[str]]:
    """The charts each drawing process draws, in the report's order (the first chart first, the
    charts by commune, the heaviest, alternately): about half the work each."""
    first, communes, rest = keys[:1], [k for k in keys[1:] if k.startswith("commune:")], \
        [k for k in keys[1:] if not k.startswith("commune:")]
    return first + communes[1::2], communes[0::2] + rest


class _Drawn(Mapping):
    """The charts by key as the drawing processes send them, each waited for when first asked for."""

    def __init__(self, helper: Beside, keys: list[str]):
        self._helper, self._keys, self._got = helper, keys, {}

    def __getitem__(self, key: str):
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._got:
            self._got[key] = self._helper._receive(key)
        return self._got[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


_READY = ""   # (sent first, once the process is ready to draw)


def _serve(inbox, outboxes, theirs: list) -> None:
    """In the chart-drawing process: the imports and a first figure, then what each chart shows;
    a copy forked then draws the second share (`_shares`) and sends it by the second pipe. A process
    group of their own, which the officer's process ends (Ctrl+C is for that one). `theirs`: the
    officer's process's ends of the pipes, closed here."""
    import os
    import signal

    for connection in theirs:
        connection.close()
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from pipeline.report.charts import warm_up

    warm_up()
    outboxes[0].send((_READY, None))
    try:
        inputs = dict(inbox.recv())
    except EOFError:
        return   # not needed: the kept rendering was written
    mine, copys = _shares(list(inputs))
    if copys and os.fork() == 0:
        # (the copy keeps only its own pipe: should the first process die, the officer's end of
        # the first pipe must see it, not wait on this copy's inherited end)
        outboxes[0].close()
        inbox.close()
        try:
            _draw_and_send([(key, inputs[key]) for key in copys], outboxes[1])
        finally:
            os._exit(0)
    outboxes[1].close()
    _draw_and_send([(key, inputs[key]) for key in mine], outboxes[0])
    while True:   # (the copy reaped)
        try:
            os.wait()
        except ChildProcessError:
            break


def _draw_and_send(inputs: list, outbox) -> None:
    """Each chart drawn and sent, by a thread while the next is drawn: a chart is larger than the
    pipe holds, and the officer's process reads it only when its report reaches it."""
    import queue
    import threading

    sending = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(sending, outbox))
    sender.start()
    try:
        for key, (function, args) in inputs:
            if not sender.is_alive():
                break   # nobody listens any more
            sending.put((key, draw(function, args)))
    except Exception as exc:  # noqa: BLE001 - the officer's process raises it
        sending.put((None, exc))
    sending.put(_READY)
    sender.join()


def _send_all(messages, outbox) -> None:
    while (message := messages.get()) is not _READY:
        try:
            outbox.send(message)
        except OSError:
            return   # (the officer's process no longer listens)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
            outbox.send((None, RuntimeError(f"{type(message[1]).__name__}: {message[1]}")))
