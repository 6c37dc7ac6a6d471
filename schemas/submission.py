"""A unit's filled workbook, as the long frames ingestion validates in one call per sheet kind.

Every frame has one row per record of every file in the batch (`file_key` says which file,
`excel_row` which row), so one schema call checks a whole province or country and each failure
still points at a cell. What a failure means for the unit — its rule, its severity (an error
blocks acceptance, a warning does not) and the Vietnamese sentence — is in MESSAGES, beside the
schema, so the wording can change without touching the checks.
"""

import pandera.pandas as pa
from pandera.typing import Series

from pipeline.forms.layout import MAX_TEXT_LENGTH, STATUSES, STATUSES_NEEDING_RESULTS

TEXT_LIMIT = {"max_value": MAX_TEXT_LENGTH}
PHONE = r"^\+?[\d\s.()-]{8,20}$"


class SubmissionInfoSchema(pa.DataFrameModel):
    """Trang "Thông tin": một dòng cho mỗi tệp."""

    file_key: Series[int] = pa.Field(description="Mã tệp trong sổ cái")
    preparer: Series[str] = pa.Field(nullable=False, str_length=TEXT_LIMIT, description="Người lập biểu (bắt buộc)")
    phone: Series[str] = pa.Field(nullable=False, str_matches=PHONE, description="Số điện thoại liên hệ (bắt buộc)")
    report_date: Series[str] = pa.Field(nullable=False, description="Ngày lập báo cáo, dạng ngày/tháng/năm (bắt buộc)")
    head_of_unit: Series[str] = pa.Field(nullable=False, str_length=TEXT_LIMIT,
                                         description="Thủ trưởng đơn vị (bắt buộc)")


class TaskReportSchema(pa.DataFrameModel):
    """Trang "Nhiệm vụ": một dòng cho mỗi nhiệm vụ của mỗi tệp."""

    file_key: Series[int] = pa.Field(description="Mã tệp trong sổ cái")
    excel_row: Series[int] = pa.Field(ge=1, description="Số dòng trong trang tính")
    task_id: Series[str] = pa.Field(description="Mã nhiệm vụ")
    status: Series[str] = pa.Field(nullable=False, isin=STATUSES,
                                   description="Tình trạng thực hiện: một trong danh sách chọn")
    results: Series[str] = pa.Field(nullable=True, str_length=TEXT_LIMIT,
                                    description="Kết quả thực hiện; bắt buộc khi đang triển khai hoặc hoàn thành")
    quantity: Series[float] = pa.Field(nullable=True, ge=0, description="Số lượng sản phẩm, số >= 0")
    documents: Series[str] = pa.Field(nullable=True, str_length=TEXT_LIMIT, description="Văn bản đã ban hành")
    difficulties: Series[str] = pa.Field(nullable=True, str_length=TEXT_LIMIT, description="Khó khăn, vướng mắc")
    proposals: Series[str] = pa.Field(nullable=True, str_length=TEXT_LIMIT, description="Đề xuất, kiến nghị")

    @pa.dataframe_check(name="results_required")
    def results_required(cls, df):
        return ~df["status"].isin(STATUSES_NEEDING_RESULTS) | df["results"].notna()

    @pa.dataframe_check(name="whole_quantity")
    def whole_quantity(cls, df):
        return df["quantity"].isna() | (df["quantity"] % 1 == 0)


class IndicatorValueSchema(pa.DataFrameModel):
    """Trang "Chỉ tiêu": một dòng cho mỗi chỉ tiêu của mỗi tệp."""

    file_key: Series[int] = pa.Field(description="Mã tệp trong sổ cái")
    excel_row: Series[int] = pa.Field(ge=1, description="Số dòng trong trang tính")
    code: Series[str] = pa.Field(description="Mã chỉ tiêu")
    value_type: Series[str] = pa.Field(isin=("integer", "decimal"), description="Kiểu giá trị theo danh mục")
    value: Series[float] = pa.Field(nullable=True, ge=0, description="Giá trị, số >= 0")
    is_blank: Series[bool] = pa.Field(description="Ô giá trị để trống")
    note: Series[str] = pa.Field(nullable=True, str_length=TEXT_LIMIT, description="Ghi chú")

    @pa.dataframe_check(name="value_required")
    def value_required(cls, df):
        return ~df["is_blank"]

    @pa.dataframe_check(name="whole_number")
    def whole_number(cls, df):
        return (df["value_type"] != "integer") | df["value"].isna() | (df["value"] % 1 == 0)


# Which column a whole-row check points at.
ROW_CHECK_COLUMNS = {"results_required": "results", "whole_quantity": "quantity",
                     "value_required": "value", "whole_number": "value"}

_TOO_LONG = ("text_too_long", "error", f"Nội dung dài quá {MAX_TEXT_LENGTH:,} ký tự".replace(",", ".")
             + " ({length:,} ký tự): hãy tóm tắt lại.")

# MESSAGES[column][check name prefix] = (rule, severity, message); {value} is the cell as found.
MESSAGES = {
    "preparer": {"not_nullable": ("required", "error", "Chưa ghi người lập biểu."), "str_length": _TOO_LONG},
    "phone": {"not_nullable": ("required", "error", "Chưa ghi số điện thoại liên hệ."),
              "str_matches": ("phone_format", "warning", "Số điện thoại '{value}' có vẻ chưa đúng (cần 8-20 chữ số).")},
    "report_date": {"not_nullable": ("required", "error", "Chưa ghi ngày lập báo cáo (dạng ngày/tháng/năm).")},
    "head_of_unit": {"not_nullable": ("required", "error", "Chưa ghi họ tên thủ trưởng đơn vị."),
                     "str_length": _TOO_LONG},
    "status": {"not_nullable": ("required", "error", "Chưa chọn tình trạng thực hiện nhiệm vụ."),
               "isin": ("status_not_allowed", "error",
                        "Tình trạng '{value}' không có trong danh sách; hãy chọn một trong: " + "; ".join(STATUSES) + ".")},
    "results": {"results_required": ("results_required", "error",
                                     "Tình trạng là 'Đang triển khai' hoặc 'Hoàn thành' thì phải ghi kết quả thực hiện."),
                "str_length": _TOO_LONG},
    "quantity": {"greater_than_or_equal_to": ("negative", "error", "Số lượng không được âm ({value})."),
                 "whole_quantity": ("not_whole", "error", "Số lượng sản phẩm phải là số nguyên ({value}).")},
    "documents": {"str_length": _TOO_LONG},
    "difficulties": {"str_length": _TOO_LONG},
    "proposals": {"str_length": _TOO_LONG},
    "value": {"greater_than_or_equal_to": ("negative", "error", "Giá trị không được âm ({value})."),
              "value_required": ("required", "error",
                                 "Chưa nhập giá trị; nếu không có số liệu phát sinh thì ghi 0."),
              "whole_number": ("not_whole", "error", "Chỉ tiêu này phải là số nguyên ({value}).")},
    "note": {"str_length": _TOO_LONG},
}
