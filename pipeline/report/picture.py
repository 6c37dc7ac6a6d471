"""A chart as the reports hold it: its title and PNG bytes. Apart from the drawing
(`pipeline.report.charts`, matplotlib), so that the process that receives charts drawn in another
one does not import matplotlib to unpickle them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes
    width_cm: float = 16.0   # printed at this width: the figure's own, so its font sizes are printed sizes
