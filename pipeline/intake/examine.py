"""Reading the received files without trusting them: each file read in a forked process (a pool
for a large batch) with a time and a memory limit, so that a reader that panics, dies or hangs
rejects its file, never the batch; then identified and extracted."""

from __future__ import annotations

import gc
import os
import re
import sys
import unicodedata
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.common.filetypes import SIGNATURES
from pipeline.common.text import strip_controls
from pipeline.forms import layout
from pipeline.intake import rules
from pipeline.intake.findings import ERROR, FileRef, Finding, finding
from pipeline.intake.reader import MAX_FILE_BYTES, Unreadable, read_workbook
from pipeline.intake.validate import Item, extract, locate_sheets, read_findings
from pipeline.intake.receive import archive_file, received_content
from pipeline.intake.identify import Identity, identify, unit_of_name

_PROGRESS_FROM = 30   # files; below this a batch takes less than a moment (no progress bar)


@dataclass
class Read:
    """One file of the run: hashed and archived (a file found) and read, identified and its cells
    extracted; or the findings of a file that could not be read."""

    key: int                  # unique in the run
    batch: int                # which project
    name: str                 # the path under the period folder, as the ledger records it
    left: int | None = None   # the ledger id of a file a killed run left pending (read from the archive)
    sha: str | None = None    # a file found: its content's hash (None: it could not be opened)
    size: int = 0
    archived: str | None = None
    why: str = ""             # why it could not be opened
    item: Item | None = None
    identity: Identity | None = None
    extracted: object = None  # validate.Extracted, when the item has sheets
    findings: list = field(default_factory=list)
    attachment: str | None = None       # 'pdf' or 'image': a scan kept beside a workbook, not read
    attachment_unit: str | None = None  # the unit its name, folder or register row names
    name_controls: list = field(default_factory=list)   # control characters removed from its name


READ_SECONDS = 20          # a file still being read after this long is rejected (a damaged .xls can loop)
WORKER_MEMORY = 1 << 30    # the address space a reading process may add to what it inherits
_IN_PROCESS = False        # read in this process (tests comparing with the reading processes set it)


def read_all(jobs: list, contexts: list, progress, ready=None) -> list[Read]:
    """Every job of the run: each file received (hashed, archived), then read, identified and its
    cells extracted in reading processes (forked), so that whatever one file does to its reader (a
    panic, a crash, all the memory, an endless loop) ends with that file rejected and the others
    read. A small batch is received here and read in one process; a large one is received and read
    in the pool, in parallel (a file whose reader died is received again here: archiving is
    idempotent). Results come in job order.

    `ready(n, results)`, when given, is called here for each project n (the jobs' second field, in
    order, each once) as soon as its files and those of every project before it are read, with
    its results in job order: the caller can store them while the pool reads the next ones. What
    it raises stops the reading."""
    if len(jobs) >= _POOL_FROM:
        work = [(job, None) for job in jobs]
    else:
        work = [(job, _receive(job, contexts)) for job in jobs]
    bar = _progress_bar(len(work), progress)
    said = _Ready(jobs, len(contexts), ready)
    try:
        read = _examine_all(work, contexts, bar, said)
    finally:
        bar.close()
    said.rest(read)   # (the projects with nothing to read, when no file at all was)
    return [read[job[0]] for job in jobs]


class _NoBar:
    """The progress bar when none is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(files: int, progress):
    """tqdm's bar over the files, shown after a second on a terminal (`progress` None: for a batch
    of _PROGRESS_FROM files or more), always (True) or never (False); tqdm is only imported when it
    may be shown."""
    show = progress if progress is not None else (files >= _PROGRESS_FROM and sys.stderr is not None
                                                  and sys.stderr.isatty())
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=files, desc="Đọc tệp", unit="tệp", delay=1.0, leave=False)


class _Ready:
    """Says when each project's results are all in (and every earlier project's): `ready`'s calls."""

    def __init__(self, jobs: list, projects: int, ready):
        self.ready, self.next, self.projects = ready, 0, projects
        self.keys: list[list[int]] = [[] for _ in range(projects)]
        for job in jobs:
            self.keys[job[1]].append(job[0])
        self.missing = [len(keys) for keys in self.keys]

    def done(self, result: "Read", out: dict) -> None:
        """`result` is in `out`: calls `ready` for the projects now complete."""
        if self.ready is None:
            return
        self.missing[result.batch] -= 1
        self._call(out)

    def rest(self, out: dict) -> None:
        """Every project not said yet (all read by now)."""
        if self.ready is not None:
            self._call(out)

    def _call(self, out: dict) -> None:
        while self.next < self.projects and not self.missing[self.next]:
            n, self.next = self.next, self.next + 1
            self.ready(n, [out[key] for key in self.keys[n]])


def _receive(job, contexts: list) -> tuple["Read", Path | None, bytes | None]:
    """One job's file hashed and archived untouched (the bytes read once serve the hash, the archived
    copy and the reading); with what the reader needs (its path, its bytes), or None, None when it
    is not to be read (the ledger has its content, or it could not be opened)."""
    key, batch, outputs, path, name, left = job
    known = contexts[batch][4]
    name, found = strip_controls(unicodedata.normalize("NFC", name))
    name = re.sub(r"[\r\n]+", " ", name) if found else name   # (a line break in a name: a space)
    result = Read(key, batch, name, left, name_controls=found)
    if left is not None:   # read from its archived copy
        try:
            return result, None, path.read_bytes() if 0 < path.stat().st_size <= MAX_FILE_BYTES else None
        except OSError:
            return result, path, None
    try:
        sha, size, data = received_content(path)
    except OSError as exc:  # locked by another program, no permission: the next run tries again
        result.why = exc.strerror or str(exc)
        return result, None, None
    result.sha, result.size = sha, size
    result.archived = archive_file(outputs, path, sha, data)
    if sha in known:
        return result, None, None   # nothing new: not read again
    return result, (path if data is None else None), data


_CONTEXTS: list | None = None   # what a forked reader needs, per project, inherited from the parent


def _examine_all(work: list, contexts: list, bar, ready: "_Ready") -> dict[int, "Read"]:
    out: dict[int, Read] = {}
    with _reader_pool(len(work), contexts) as pool:
        if pool is None:
            for job, received in work:
                out[job[0]] = result = _work(job, received, contexts)
                bar.update()
                ready.done(result, out)
            return out
        size = max(8, len(work) // 128)
        pending = {pool.submit(_work_in_worker, work[i:i + size]) for i in range(0, len(work), size)}
        try:
            while pending:
                done, pending = wait(pending, timeout=READ_SECONDS, return_when=FIRST_COMPLETED)
                if not done:
                    break   # a reader has been stuck on one file too long
                for future in done:
                    try:
                        results = future.result()
                    except Exception:  # noqa: BLE001 - a reading process died: its files are read one by one below
                        continue
                    for result in results:
                        out[result.key] = result
                        bar.update()
                    for result in results:   # (what the caller does with them runs while the pool reads on)
                        ready.done(result, out)
        except BaseException:   # the caller's own work failed (or an interrupt): no more reading
            _stop(pool)
            raise
        if pending or len(out) < len(work):
            _stop(pool)
        for job, received in work:   # (_CONTEXTS is set by _reader_pool for the child _examine_alone forks)
            if job[0] not in out:
                result, path, data = received or _receive(job, contexts)
                out[job[0]] = result = (_examine_alone(result, path, data) if path is not None or data is not None
                                        else result)
                bar.update()
                ready.done(result, out)
    return out


def _stop(pool) -> None:
    """The pool's processes killed and what they had not started dropped."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _work(job, received, contexts: list) -> "Read":
    """One job: received (unless it was), then examined if there is anything to read."""
    result, path, data = received or _receive(job, contexts)
    if path is None and data is None:
        return result   # known already, or could not be opened
    return _examine(result, path, data, contexts)


def _work_in_worker(chunk: list) -> list["Read"]:
    return [_work(job, received, _CONTEXTS) for job, received in chunk]


_POOL_FROM = 40   # files; below this one reading process, above one per core


@contextmanager
def _reader_pool(files: int, contexts: list):
    """A pool of forked reading processes (one below _POOL_FROM files, else one per core) where the
    system can fork (not Windows, where a worker would start by importing everything again); else
    None, and files are read in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _CONTEXTS
    if not files or _IN_PROCESS or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    workers = 1 if files < _POOL_FROM else max(1, min(os.cpu_count() or 1, files // 20))
    _CONTEXTS = contexts
    # Objects that exist before the fork are left out of the workers' garbage collections: a
    # collection would otherwise walk (and so copy) the whole inherited heap of pandas and pandera.
    gc.freeze()
    try:
        # (a worker that dies breaks the pool with an error, where multiprocessing.Pool would hang)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_limit_memory) as pool:
            yield pool
    finally:
        gc.unfreeze()
        _CONTEXTS = None


def _limit_memory() -> None:
    """A reading process may use WORKER_MEMORY more than it inherited: a file that asks for more
    fails its reader (or kills this process), not the machine. What a dying reader prints (Rust's
    "memory allocation of … bytes failed") is not for the officer's terminal: the file's finding
    says it."""
    import faulthandler

    faulthandler.disable()   # (when a test runner enabled it: its dump goes to the terminal too)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass
    try:
        import resource

        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = used + WORKER_MEMORY
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or limit < soft:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _examine_alone(result: "Read", path, data) -> "Read":
    """One file read in a process of its own, given READ_SECONDS: if it dies or does not finish,
    the file is rejected with a finding that says so."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_examine_and_send, args=(result, path, data, sender), daemon=True)
    process.start()
    sender.close()
    rule = rules.READ_TIMEOUT
    try:
        if receiver.poll(READ_SECONDS):
            try:
                return receiver.recv()
            except Exception:  # noqa: BLE001 - the process died before sending its result
                rule = rules.READER_CRASHED
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    message = (f"Đọc tệp quá {READ_SECONDS} giây chưa xong (tệp bị hỏng hoặc có cấu trúc bất thường) nên tệp không "
               "được đọc" if rule == rules.READ_TIMEOUT else
               "Tệp làm chương trình đọc bảng tính dừng đột ngột (tệp bị hỏng hoặc đòi quá nhiều bộ nhớ) nên tệp "
               "không được đọc")
    result.findings = [finding(FileRef(None, result.name), "", "", "", rule, ERROR,
                               message + ": hãy mở lại tệp bằng Excel hoặc LibreOffice, lưu lại rồi gửi.")]
    return result


def _examine_and_send(result, path, data, sender) -> None:
    _limit_memory()
    try:
        out = _examine(result, path, data, _CONTEXTS)
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent hears of it
        result.findings = [unexpected(result.name, exc)]
        out = result
    sender.send(out)
    sender.close()


def _examine(result: "Read", path: Path | None, data: bytes | None, contexts: list) -> "Read":
    """One file read, identified and its cells extracted; anything it raises (a Rust panic is a
    BaseException, which cannot even be sent back from a reading process) becomes a finding."""
    try:
        return _examine_file(result, path, data, contexts)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - a file we did not foresee must not stop the batch
        result.item = result.identity = result.extracted = None
        result.findings = [unexpected(result.name, exc)]
        return result


def _examine_file(result: "Read", path: Path | None, data: bytes | None, contexts: list) -> "Read":
    directory, exp, period, by_file, _known = contexts[result.batch]
    name = result.name
    head = data[:8] if data is not None else b""
    kind = next((k for magic, k in SIGNATURES if head.startswith(magic)), None)
    if kind is not None:   # a signed scan or a photo: kept beside the unit's workbook, not read
        result.attachment = kind
        register = by_file.get(name) or by_file.get(Path(name).name)
        result.attachment_unit = (register[1] if register and register[1] else None) or unit_of_name(directory, name)
        return result
    try:
        workbook = read_workbook(Path(name) if data is not None else path,
                                 skip=(layout.SHEET_GUIDE, layout.SHEET_LISTS), data=data)  # no data in those two
    except Unreadable as exc:
        result.findings = [finding(FileRef(None, name), "", "", "", exc.rule, ERROR, exc.message)]
        return result
    item = Item(key=result.key, file=name, unit_id=None, workbook=workbook, sheets={})
    try:
        item.sheets, sheet_findings = locate_sheets(workbook, item)
        register = by_file.get(name) or by_file.get(Path(name).name)
        ident = identify(item, workbook, directory, exp, period, register[1] if register else None)
    except Exception as exc:  # noqa: BLE001 - a file we did not foresee must not stop the batch
        result.findings = [unexpected(name, exc)]
        return result
    item.unit_id = ident.unit_id
    ident.findings = [f.of_unit(ident.unit_id) for f in ident.findings]
    item.findings.extend(f.of_unit(ident.unit_id) for f in sheet_findings)
    item.findings.extend(read_findings(item))
    result.extracted = extract(item, exp) if item.sheets else None
    result.item, result.identity = item.without_cells(), ident
    return result


def unexpected(file: str, exc: Exception) -> Finding:
    """The finding for a file that broke the reader in a way nobody foresaw (a bug to report)."""
    return finding(FileRef(None, file), "", "", "", rules.UNEXPECTED_ERROR, ERROR,
                   f"Không xử lý được tệp do lỗi không lường trước ({type(exc).__name__}: {exc}); hãy mở lại tệp "
                   "bằng Excel, lưu lại rồi gửi, và báo lỗi này cho người quản trị phần mềm.")
