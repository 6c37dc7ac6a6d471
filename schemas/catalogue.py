"""The indicator catalogue (schemas/indicators.csv): what units count, and how it adds up."""

import pandera.pandas as pa
from pandera.typing import Series

AGGREGATIONS = ("flow", "stock")       # flow: sum over the period; stock: the count at the cut-off
VALUE_TYPES = ("integer", "decimal")
ASKED_IN = ("all", "annual")           # every period, or only in the annual report
# How the province figure is formed when units at both levels report an indicator:
# sum: their activities are separate, the province figure is the sum over every unit;
# provincial: the provincial unit's count already covers the communes (the police's cases), the
# province figure is the departments' sum and the communes' sum is shown beside it as "trong đó".
PROVINCE_TOTALS = ("sum", "provincial")


class IndicatorCatalogueSchema(pa.DataFrameModel):
    code: Series[str] = pa.Field(unique=True, str_matches=r"^[A-Z]{2}\d{2}$", description="Mã chỉ tiêu, ví dụ TT01")
    name: Series[str] = pa.Field(unique=True, str_length={"min_value": 1}, description="Tên chỉ tiêu")
    unit_of_measure: Series[str] = pa.Field(str_length={"min_value": 1}, description="Đơn vị tính")
    tasks: Series[str] = pa.Field(str_matches=r"^(\d+\.\d+[a-z]?(;\s*\d+\.\d+[a-z]?)*)?$",
                                  description="Các nhiệm vụ chỉ tiêu minh chứng, cách nhau bởi ;")
    reporters: Series[str] = pa.Field(str_length={"min_value": 1},
                                      description="Đơn vị báo cáo, viết như trong biểu phân công, cách nhau bởi ;")
    aggregation: Series[str] = pa.Field(isin=AGGREGATIONS, description="flow: cộng dồn trong kỳ; stock: số tại thời điểm chốt")
    value_type: Series[str] = pa.Field(isin=VALUE_TYPES, description="integer: số nguyên; decimal: số thập phân")
    asked_in: Series[str] = pa.Field(isin=ASKED_IN, description="all: mọi kỳ; annual: chỉ báo cáo năm")
    max_value: Series[str] = pa.Field(str_matches=r"^(\d+)?$",
                                      description="Giá trị tối đa hợp lý của một đơn vị trong một kỳ (để trống: mặc định)")
    province_total: Series[str] = pa.Field(isin=PROVINCE_TOTALS,
                                           description="sum: cộng mọi đơn vị; provincial: lấy số của cấp tỉnh, "
                                                       "tổng của cấp xã ghi \"trong đó\"")

    class Config:
        strict = True
        coerce = True


MESSAGES = {
    "code": {"field_uniqueness": "mã chỉ tiêu bị trùng", "str_matches": "mã chỉ tiêu gồm 2 chữ in hoa và 2 chữ số (TT01)"},
    "name": {"field_uniqueness": "tên chỉ tiêu bị trùng", "str_length": "thiếu tên chỉ tiêu"},
    "unit_of_measure": {"str_length": "thiếu đơn vị tính"},
    "tasks": {"str_matches": "danh sách nhiệm vụ phải có dạng 2.1; 2.6"},
    "reporters": {"str_length": "thiếu đơn vị báo cáo"},
    "aggregation": {"isin": "cách tổng hợp chỉ nhận flow hoặc stock"},
    "value_type": {"isin": "kiểu giá trị chỉ nhận integer hoặc decimal"},
    "asked_in": {"isin": "kỳ hỏi chỉ nhận all hoặc annual"},
    "max_value": {"str_matches": "giá trị tối đa phải là một số nguyên không âm, hoặc để trống"},
    "province_total": {"isin": "cách lấy số của tỉnh chỉ nhận sum hoặc provincial"},
}
