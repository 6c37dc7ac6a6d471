"""Measuring a stage honestly: wall time, CPU time (this process and the pool workers it waited
for) and peak resident memory, each stage in a fresh process so that its peak is its own."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.national import PROJECT_ROOT


def peak_mib() -> float:
    """This process's own peak resident memory. (ru_maxrss is not: Linux carries the parent's
    high-water mark across fork and exec, so a child would report its parent's peak.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def workers_peak_mib() -> float:
    """The largest peak of the child processes waited for (the pool workers), 0 without any."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system time of this process and of the children it waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Clock:
    """`with Clock() as c: ...` then c.wall, c.cpu (seconds)."""

    wall: float = 0.0
    cpu: float = 0.0
    _start: tuple = field(default=(0.0, 0.0), repr=False)

    def __enter__(self) -> "Clock":
        self._start = (time.perf_counter(), cpu_seconds())
        return self

    def __exit__(self, *exc) -> None:
        self.wall += time.perf_counter() - self._start[0]
        self.cpu += cpu_seconds() - self._start[1]


def run_child(module: str, *args: str) -> dict:
    """Runs `python -m module args...` in a fresh process; the dict it printed as its last line
    of JSON, with `process_wall` (interpreter start-up included) added."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=PROJECT_ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-5000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{module} {' '.join(args)} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall"] = wall
    return result
