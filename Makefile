# The officer's commands. Each one only calls the CLI (python -m pipeline ...).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install test test-fast test-lowest demo matrix units obligations templates ingest history
.PHONY: distribute send-feedback send-reminders collect
.PHONY: audit audit-history
.PHONY: semiannual annual lock unlock
.PHONY: bench
.PHONY: serve links

help:
	@echo "make demo                          chạy thử toàn bộ quy trình trên số liệu mẫu, trong outputs/demo/ (không động tới inputs/)"
	@echo "make test                          cài những gì còn thiếu rồi chạy các bài kiểm thử"
	@echo "make test-fast                     chỉ các bài kiểm thử nhanh (dưới một phút), khi đang sửa chương trình"
	@echo "make test-lowest                   chạy lại các bài kiểm thử với phiên bản thấp nhất được phép của các thư viện"
	@echo "make matrix                        biểu phân công, cơ quan chủ trì và phối hợp đã đối chiếu với đơn vị"
	@echo "make units                         danh sách đơn vị báo cáo"
	@echo "make obligations PERIOD=2026S1     đơn vị nào báo cáo nhiệm vụ nào trong kỳ (UNIT= để xem một đơn vị)"
	@echo "make templates PERIOD=2026S1       biểu mẫu trống cho mọi đơn vị, trong outputs/templates/2026S1/"
	@echo "make ingest PERIOD=2026S1          đọc, kiểm tra và ghi sổ các tệp trong inputs/submissions/2026S1/"
	@echo "make history PERIOD=2026S1 UNIT=03405  các bản một đơn vị đã gửi và những gì thay đổi giữa các bản"
	@echo "make distribute PERIOD=2026S1      gửi biểu mẫu cho từng đơn vị: chạy thử vào outputs/mail/; SEND=1 để gửi thật"
	@echo "make send-feedback PERIOD=2026S1   gửi mỗi đơn vị tệp phản hồi kết quả kiểm tra (SEND=1 để gửi thật)"
	@echo "make send-reminders PERIOD=2026S1  gửi công văn đôn đốc của lệnh audit tới các đơn vị (SEND=1 để gửi thật)"
	@echo "                                   (SEND=1 cần LETTER=<công văn đã ký, PDF/DOCX> [SO=... NGAY=...] hoặc DRAFT=1)"
	@echo "make collect PERIOD=2026S1         lưu các bảng tính đơn vị gửi qua thư vào inputs/submissions/2026S1/"
	@echo "make audit PERIOD=2026S1           đơn vị đúng hạn, muộn, chưa nộp, không đạt; công văn đôn đốc (AS_OF=, NEW_DEADLINE=)"
	@echo "make audit-history                 bảng đơn vị × kỳ của mọi kỳ trong sổ cái, và trang HTML của bảng"
	@echo "make semiannual PERIOD=2026S1      tiếp nhận tệp mới rồi lập báo cáo 6 tháng (Word, Excel, HTML) trong outputs/2026S1/ (FORCE=1: bản DỰ THẢO khi quá ít đơn vị báo cáo)"
	@echo "make annual YEAR=2026              tiếp nhận tệp mới rồi lập báo cáo năm trong outputs/2026/ (AS_OF= cho cả hai)"
	@echo "                                   (audit, history, send-*, semiannual, annual: NO_INGEST=1 dừng lại nếu còn tệp chưa tiếp nhận)"
	@echo "make lock PERIOD=2026S1            ghi nhận báo cáo của kỳ đã phát hành: tệp đến sau không được tính (ALLOW=\"03405\" cho phép đơn vị)"
	@echo "make unlock PERIOD=2026S1 REASON=\"...\"  mở lại kỳ đã khoá, ghi rõ lý do"
	@echo "make serve                         mở trang web: trang làm việc của cán bộ và trang nộp báo cáo của đơn vị (HOST=, PORT=)"
	@echo "make links PERIOD=2026S1           đường dẫn nộp báo cáo riêng của từng đơn vị (REVOKE=03405 thu hồi, cấp lại)"
	@echo "make bench                         đo thời gian từng bước, Lai Châu và cả nước, so với cách làm đơn giản"
	@echo "Ngày ghi dạng 20/06/2026 hoặc 2026-06-20; đơn vị ghi mã (03405, 3405) hoặc tên (UNIT=\"Tả Lèng\")."

# A target run without the variable it needs says which one in one Vietnamese line.
need = $(if $(strip $($(1))),,$(error Thiếu biến $(1): ghi thêm, ví dụ make $@ $(1)=$(2)))

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	bash scripts/ensure_system_packages.sh
	$(PY) -m pytest

# Without the tests marked slow (LibreOffice, the demo, process pools, big files): under a minute.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# The suite again, in a venv of its own, with the lowest version pyproject.toml allows of every
# direct dependency (uv's --resolution lowest-direct; uv is installed into that venv first), so a
# floor that no longer holds fails here (CI runs it after make test).
LOWEST_VENV := .venv-lowest
test-lowest:
	bash scripts/ensure_system_packages.sh
	rm -rf $(LOWEST_VENV)
	$(PYTHON) -m venv $(LOWEST_VENV)
	$(LOWEST_VENV)/bin/python -m pip install --quiet uv
	$(LOWEST_VENV)/bin/python -m uv pip install --quiet --python $(LOWEST_VENV)/bin/python \
	  --resolution lowest-direct -e '.[test]'
	$(LOWEST_VENV)/bin/python -m uv pip list --python $(LOWEST_VENV)/bin/python
	$(LOWEST_VENV)/bin/python -m pytest -p no:cacheprovider

matrix: $(STAMP)
	$(PY) -m pipeline matrix

units: $(STAMP)
	$(PY) -m pipeline units

obligations: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline obligations --period $(PERIOD) $(if $(UNIT),--unit "$(UNIT)")

templates: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline templates --period $(PERIOD) $(if $(UNIT),--unit "$(UNIT)")

# NO_INGEST=1: a command that judges a period stops if new files wait, instead of ingesting them first.
NO_INGEST_FLAG = $(if $(NO_INGEST),--no-ingest)

ingest: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline ingest --period $(PERIOD)

history: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(call need,UNIT,03405)
	$(PY) -m pipeline history --period $(PERIOD) --unit "$(UNIT)" $(NO_INGEST_FLAG)

# Mail (README, "Mail"): without SEND=1 the messages are only written as .eml files to check first.
MAIL_FLAGS = $(if $(SEND),--send) $(if $(RESEND),--resend) $(if $(UNIT),--unit "$(UNIT)")

distribute: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline distribute --period $(PERIOD) $(MAIL_FLAGS)

send-feedback: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline send-feedback --period $(PERIOD) $(MAIL_FLAGS) $(NO_INGEST_FLAG)

# SEND=1 needs the signed letter, LETTER="123-SYT-NVY 20-06-2026.pdf" (its number and date from the
# name, or SO=123/SYT-NVY NGAY=20/06/2026), or DRAFT=1 to send the audit's unsigned draft.
send-reminders: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline send-reminders --period $(PERIOD) $(foreach u,$(UNITS),--unit $(u)) $(MAIL_FLAGS) $(NO_INGEST_FLAG) \
	  $(if $(LETTER),--letter "$(LETTER)") $(if $(SO),--so "$(SO)") $(if $(NGAY),--ngay "$(NGAY)") $(if $(DRAFT),--draft)

collect: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline collect --period $(PERIOD) $(if $(SINCE),--since $(SINCE))

# Audit (README, "Audit"): AS_OF=2026-06-20 replays a day, NEW_DEADLINE=2026-06-26 sets the letter's new deadline.
audit: $(STAMP)
	$(PY) -m pipeline audit $(if $(PERIOD),--period $(PERIOD)) $(if $(AS_OF),--as-of $(AS_OF)) $(if $(NEW_DEADLINE),--new-deadline $(NEW_DEADLINE)) $(if $(HISTORY),--history) $(NO_INGEST_FLAG)

audit-history: $(STAMP)
	$(PY) -m pipeline audit --history $(if $(AS_OF),--as-of $(AS_OF))

semiannual: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline semiannual --period $(PERIOD) $(if $(AS_OF),--as-of $(AS_OF)) $(NO_INGEST_FLAG) $(if $(FORCE),--force)

annual: $(STAMP)
	$(call need,YEAR,2026)
	$(PY) -m pipeline annual --year $(YEAR) $(if $(AS_OF),--as-of $(AS_OF)) $(NO_INGEST_FLAG) $(if $(FORCE),--force)

# Locking a period (README, "Locking a period"): ALLOW="03405 12-CA" lets those units' late files count.
lock: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline lock --period $(PERIOD) $(foreach u,$(ALLOW),--cho-phep $(u))

unlock: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(call need,REASON,"đã có ý kiến lãnh đạo")
	$(PY) -m pipeline unlock --period $(PERIOD) --ly-do "$(REASON)"

demo: $(STAMP)
	$(PY) -m pipeline demo

# Benchmark (README, "Benchmarks"): builds the national synthetic set once under outputs/bench/.
bench: $(STAMP)
	$(PY) -m bench.run $(if $(PROVINCE_ONLY),--province-only)
	$(PY) -m bench.web_bench

# The web pages (README, "In the browser"): the officer's cycle and each unit's upload page.
serve: $(STAMP)
	$(PY) -m pipeline serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) $(if $(NO_BROWSER),--no-browser)

links: $(STAMP)
	$(call need,PERIOD,2026S1)
	$(PY) -m pipeline links --period $(PERIOD) $(foreach u,$(REVOKE),--revoke $(u))
