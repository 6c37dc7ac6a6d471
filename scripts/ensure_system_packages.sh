#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing (LibreOffice to open what we
# write, Dovecot as a mailbox to collect from, Chromium for the web tests). Needs root (as in CI); without it, says so loudly
# and the tests that need them skip.
set -u
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui libreoffice-writer-nogui fonts-liberation)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# The report's charts are in Liberation Serif where Times New Roman is missing; only the 2.x fonts
# have every Vietnamese letter (fonts-liberation 1.07 lacks ạ, ả, ấ, ...).
[ -d /usr/share/fonts/truetype/liberation2 ] || need+=(fonts-liberation2)
# Dovecot: the real IMAP server the mail-collection tests start on loopback with a throwaway config.
{ command -v dovecot || [ -x /usr/sbin/dovecot ]; } >/dev/null 2>&1 || need+=(dovecot-imapd)
# Chromium: the browser the web tests drive through Playwright (never `playwright install`).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "!!! Missing system packages: ${need[*]} (not root or no apt-get): the tests that need them will be SKIPPED." >&2
  exit 0
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || echo "!!! apt-get update failed" >&2
apt-get install -y -qq "${need[@]}" >/dev/null \
  || echo "!!! apt-get install ${need[*]} failed: the tests that need them will be SKIPPED." >&2
exit 0
