"""The overall status of a task in the reports: one of the statuses a unit chooses on its form
(pipeline/forms/layout.py), or that its lead unit has not reported. Light (no pandas): the chart
process imports it.
"""

from __future__ import annotations

from pipeline.forms import layout

DONE, IN_PROGRESS, NOT_STARTED, NOT_APPLICABLE = layout.STATUSES[2], layout.STATUSES[1], layout.STATUSES[0], layout.STATUSES[3]
NO_LEAD_REPORT = "Chưa có báo cáo"
TASK_STATUSES = (DONE, IN_PROGRESS, NOT_STARTED, NOT_APPLICABLE, NO_LEAD_REPORT)
