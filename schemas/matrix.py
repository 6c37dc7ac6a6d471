"""The assignment matrix (Biểu phân công thực hiện các nhiệm vụ, giải pháp chủ yếu)."""

import pandera.pandas as pa
from pandera.typing import Series

from pipeline.reference.periods import timeframe_kind

TASK_ID_PATTERN = r"^\d+\.\d+[a-z]?$"


class AssignmentMatrixSchema(pa.DataFrameModel):
    id: Series[str] = pa.Field(unique=True, str_matches=TASK_ID_PATTERN,
                               description="Mã nhiệm vụ (STT), ví dụ 1.1; nhiệm vụ tách dòng: 1.5a, 1.5b")
    group_id: Series[str] = pa.Field(str_matches=r"^\d+$", description="Số nhóm nhiệm vụ (1-5)")
    group_title: Series[str] = pa.Field(str_length={"min_value": 1}, description="Tên nhóm nhiệm vụ")
    task: Series[str] = pa.Field(str_length={"min_value": 1}, description="Nhiệm vụ và giải pháp chủ yếu")
    lead: Series[str] = pa.Field(str_length={"min_value": 1}, description="Cơ quan chủ trì")
    partners: Series[str] = pa.Field(description="Cơ quan phối hợp")
    timeframe: Series[str] = pa.Field(description="Thời gian thực hiện")
    product: Series[str] = pa.Field(description="Sản phẩm/Kết quả")

    @pa.check("timeframe", name="known_timeframe")
    def known_timeframe(cls, series: Series[str]) -> Series[bool]:
        return series.map(lambda text: timeframe_kind(text) is not None)

    @pa.dataframe_check(name="id_in_group")
    def id_in_group(cls, df):
        return df.apply(lambda row: row["id"].split(".")[0] == row["group_id"], axis=1)

    class Config:
        strict = True
        coerce = True


MESSAGES = {
    "id": {"field_uniqueness": "mã nhiệm vụ bị trùng",
           "str_matches": "mã nhiệm vụ phải có dạng 1.1 hoặc 1.5a"},
    "group_id": {"str_matches": "số nhóm phải là số nguyên (1, 2, ...)"},
    "group_title": {"str_length": "thiếu tên nhóm nhiệm vụ"},
    "task": {"str_length": "thiếu nội dung nhiệm vụ"},
    "lead": {"str_length": "thiếu cơ quan chủ trì"},
    "timeframe": {"known_timeframe": "thời gian thực hiện không thuộc các dạng đã biết "
                                     "(Hằng năm, Thường xuyên, 2026-2030, 6 tháng, hàng năm)"},
    "": {"id_in_group": "mã nhiệm vụ không thuộc nhóm ghi ở cột group_id"},
}
