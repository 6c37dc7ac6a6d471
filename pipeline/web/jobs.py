"""The officer's long operations (templates, a batch of files, the audit, the report) in background
threads, each with its progress lines and its outcome, so that no page waits for them."""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field

from pipeline.common.errors import BaocaoError

RUNNING, DONE, FAILED = "running", "done", "failed"
LABELS = {RUNNING: "Đang chạy", DONE: "Xong", FAILED: "Không thành công"}


@dataclass
class Job:
    id: int
    title: str
    period: str
    kind: str
    state: str = RUNNING
    lines: list[str] = field(default_factory=list)
    result: object = None
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def as_json(self) -> dict:
        return {"id": self.id, "title": self.title, "state": self.state, "label": LABELS[self.state],
                "lines": list(self.lines), "error": self.error, "seconds": round(self.seconds, 1)}


class Jobs:
    def __init__(self):
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, title: str, period: str, kind: str, work) -> Job:
        """Runs `work(job)` in a thread; its return value is the job's result. A BaocaoError is the
        job's one Vietnamese line; anything else is reported as unexpected, with its type."""
        with self._lock:
            job = Job(next(self._ids), title, period, kind)
            self._jobs[job.id] = job

        def run():
            try:
                job.result = work(job)
                job.state = DONE
            except BaocaoError as exc:
                job.error, job.state = str(exc), FAILED
            except Exception as exc:  # noqa: BLE001 - the page says it; the server goes on
                traceback.print_exc()
                job.error, job.state = f"lỗi không mong đợi ({type(exc).__name__}: {exc})", FAILED
            finally:
                job.ended = time.monotonic()

        threading.Thread(target=run, name=f"baocao-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def latest(self, period: str, kind: str) -> Job | None:
        found = [j for j in self._jobs.values() if j.period == period and j.kind == kind]
        return found[-1] if found else None

    def wait_all(self, timeout: float = 60.0) -> None:
        """For tests and shutdown: until no job runs."""
        end = time.monotonic() + timeout
        while any(j.state == RUNNING for j in self._jobs.values()) and time.monotonic() < end:
            time.sleep(0.05)
