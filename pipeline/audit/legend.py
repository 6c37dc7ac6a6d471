"""How the audit's statuses look wherever they are shown: the files' names, the cells' fills,
the terminal's colours, the history's symbols and legend; and the audit's own error."""

from __future__ import annotations



from pipeline.audit.status import (LATE, MISSING, NOT_YET, ON_TIME, REJECTED)
from pipeline.common.errors import BaocaoError

STATUS_WORKBOOK = "tinh-hinh-nop-bao-cao.xlsx"
MAIL_MERGE_CSV = "tinh-hinh-nop-bao-cao.csv"
LETTER_TEMPLATE = "cong-van-don-doc.docx"
HISTORY_TEMPLATE = "lich-su-nop-bao-cao.html.j2"
HISTORY_PAGE = "lich-su-nop-bao-cao.html"
FONT = "Times New Roman"

# cell shading in the workbook and the page; terminal colours
FILLS = {ON_TIME: "C6EFCE", LATE: "FFEB9C", REJECTED: "F8CBAD", NOT_YET: "DDEBF7", MISSING: "FFC7CE"}
COLOURS = {ON_TIME: "green", LATE: "yellow", REJECTED: "magenta", NOT_YET: "cyan", MISSING: "red"}
SYMBOLS = {ON_TIME: "✓", REJECTED: "!", NOT_YET: "…", MISSING: "✗"}   # late: "+<days>"
NOT_EXPECTED = "·"
LEGEND = [(ON_TIME, "✓", "đúng hạn"), (LATE, "+3", "muộn 3 ngày"), (REJECTED, "!", "không đạt, cần gửi lại"),
          (NOT_YET, "…", "chưa nhận, chưa đến hạn"), (MISSING, "✗", "chưa nộp, quá hạn"),
          (None, NOT_EXPECTED, "không phải báo cáo kỳ này")]

class AuditError(BaocaoError):
    """An audit argument the officer can fix (a new deadline before the audit day, ...)."""
