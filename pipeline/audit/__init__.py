"""The audit: who owes a report, who sent it, when and with what verdict; and its outputs
(status workbook, mail-merge CSV, reminder letter, history page)."""
