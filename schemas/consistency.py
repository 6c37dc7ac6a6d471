"""The consistency rules (schemas/consistency.csv): relations the figures of one file must satisfy."""

import pandera.pandas as pa
from pandera.typing import Series

# at_most                  indicator `subject` <= indicator `other`
# positive_requires        indicator `subject` > 0 only when indicator `other` > 0
# status_excludes_results  a task whose status is `subject` has none of the fields `other` filled in
# required_when_done       a task whose status is `subject` has every field `other` filled in
INDICATOR_KINDS = ("at_most", "positive_requires")
STATUS_KINDS = ("status_excludes_results", "required_when_done")
KINDS = INDICATOR_KINDS + STATUS_KINDS
# the task fields a status rule names; `figures`: the values of the indicators tied to the task
TASK_FIELDS = ("results", "quantity", "documents", "figures")
SEVERITIES = ("warning", "error")


class ConsistencyRuleSchema(pa.DataFrameModel):
    kind: Series[str] = pa.Field(isin=KINDS, description="Loại quan hệ")
    subject: Series[str] = pa.Field(str_length={"min_value": 1},
                                    description="Mã chỉ tiêu (at_most, positive_requires) hoặc tình trạng nhiệm vụ")
    other: Series[str] = pa.Field(str_length={"min_value": 1},
                                  description="Mã chỉ tiêu so sánh, hoặc các cột nhiệm vụ cách nhau bởi ;")
    severity: Series[str] = pa.Field(isin=SEVERITIES, description="warning: cảnh báo; error: không chấp nhận tệp")
    message: Series[str] = pa.Field(str_length={"min_value": 1}, description="Câu thông báo (tiếng Việt), có chỗ trống {…}")

    class Config:
        strict = True
        coerce = True


MESSAGES = {
    "kind": {"isin": f"loại quan hệ chỉ nhận {', '.join(KINDS)}"},
    "subject": {"str_length": "thiếu mã chỉ tiêu hoặc tình trạng"},
    "other": {"str_length": "thiếu mã chỉ tiêu so sánh hoặc cột nhiệm vụ"},
    "severity": {"isin": "mức độ chỉ nhận warning hoặc error"},
    "message": {"str_length": "thiếu câu thông báo"},
}
# (which subject and other a kind takes is checked row by row in pipeline/intake/consistency.py `load_rules`)
INDICATOR_CODE = r"^[A-Z]{2}\d{2}$"
