"""The reporting-units registry: departments from inputs/, communes from the official list."""

import pandera.pandas as pa
from pandera.typing import Series

PERIOD_OR_BLANK = r"^(\d{4}(S1)?)?$"


class DepartmentsFileSchema(pa.DataFrameModel):
    """inputs/departments.csv: one row per provincial department (sở, ngành) that reports."""

    id: Series[str] = pa.Field(unique=True, str_matches=r"^\d{2}-[A-Z0-9]+$",
                               description="Mã đơn vị: mã tỉnh, gạch nối, viết tắt (12-SYT)")
    name: Series[str] = pa.Field(unique=True, str_length={"min_value": 1}, description="Tên chính thức")
    short_name: Series[str] = pa.Field(description="Tên viết tắt")
    aliases: Series[str] = pa.Field(description="Các tên gọi khác trong biểu phân công, cách nhau bởi |")
    active_from: Series[str] = pa.Field(str_matches=PERIOD_OR_BLANK,
                                        description="Kỳ đầu tiên phải báo cáo (trống: từ đầu kế hoạch)")
    email: Series[str] = pa.Field(description="Thư điện tử nhận biểu mẫu")
    phone: Series[str] = pa.Field(description="Điện thoại")
    contact_person: Series[str] = pa.Field(description="Cán bộ đầu mối")

    class Config:
        strict = True
        coerce = True


class CommuneContactsFileSchema(pa.DataFrameModel):
    """inputs/commune_contacts.csv: contact details for the communes (their list is official)."""

    id: Series[str] = pa.Field(unique=True, str_matches=r"^\d{5}$", description="Mã xã/phường chính thức")
    name: Series[str] = pa.Field(description="Tên xã/phường (để đối chiếu)")
    active_from: Series[str] = pa.Field(str_matches=PERIOD_OR_BLANK, description="Kỳ đầu tiên phải báo cáo")
    email: Series[str] = pa.Field(description="Thư điện tử nhận biểu mẫu")
    phone: Series[str] = pa.Field(description="Điện thoại")
    contact_person: Series[str] = pa.Field(description="Cán bộ đầu mối")

    class Config:
        strict = True
        coerce = True


DEPARTMENT_MESSAGES = {
    "id": {"field_uniqueness": "mã đơn vị bị trùng",
           "str_matches": "mã đơn vị phải có dạng <mã tỉnh>-<VIẾT TẮT>, ví dụ 12-SYT"},
    "name": {"field_uniqueness": "tên đơn vị bị trùng", "str_length": "thiếu tên đơn vị"},
    "active_from": {"str_matches": "kỳ bắt đầu phải có dạng 2026S1 hoặc 2026, hoặc để trống"},
}
COMMUNE_MESSAGES = {
    "id": {"field_uniqueness": "mã xã/phường bị trùng", "str_matches": "mã xã/phường gồm 5 chữ số, ví dụ 03405"},
    "active_from": {"str_matches": "kỳ bắt đầu phải có dạng 2026S1 hoặc 2026, hoặc để trống"},
}
