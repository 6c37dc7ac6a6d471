"""Real mail servers on loopback for the mail tests: aiosmtpd (SMTP) and Dovecot (IMAP).

Nothing is mocked: the pipeline talks SMTP and IMAP over a socket to servers these fixtures start on
127.0.0.1 with a free port, a throwaway user and a throwaway mail store in the test's tmp folder.
Dovecot comes from Debian's `dovecot-imapd` (scripts/ensure_system_packages.sh installs it as
root); where it cannot be had, the IMAP tests are skipped with a loud reason, never silently.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import getpass
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SMTP_USER = "baocao@syt.example.vn"
SMTP_PASSWORD = "Mật-khẩu-SMTP-9f3!xZ"
IMAP_USER = "hopthu"
IMAP_PASSWORD = "imap-Pa55-q7#Lw"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, attempts: int = 100) -> bool:
    for _ in range(attempts):
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# ------------------------------------------------------------------------------------------ SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class SmtpServer:
    port: int
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)     # recipients answered with 550
    security: str = "none"
    drop: set[str] = field(default_factory=set)       # recipients whose message makes the server hang up


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.server.drop:
            server.transport.close()  # the connection breaks before the server answers
            return "421 4.3.0 Closing connection"
        self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                             envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1 requiring a login (so the password really travels and can be checked)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(port=free_port())

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
        server.logins.append((login, password))
        ok = (login, password) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port,
                            authenticator=authenticator, auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# ------------------------------------------------------------------------------------------ IMAP


@dataclass
class ImapServer:
    port: int
    user: str
    password: str
    log: Path
    tls: "Certificate | None" = None

    def connect(self):
        import imaplib

        if self.tls is None:
            imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        else:
            import ssl

            context = ssl.create_default_context(cafile=str(self.tls.cert))
            imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=30)
        imap.login(self.user, self.password)
        return imap

    def append(self, message: bytes, when: str | None = None, folder: str = "INBOX") -> None:
        """IMAP APPEND, as a mail server's delivery would; `when` sets the arrival time (INTERNALDATE)."""
        import imaplib

        imap = self.connect()
        try:
            internal = imaplib.Time2Internaldate(time.mktime(time.strptime(when, "%Y-%m-%d %H:%M"))) if when else None
            status, data = imap.append(folder, None, internal, message)
            assert status == "OK", data
        finally:
            imap.logout()

    def flags(self) -> list[bytes]:
        """Every message's flags, as stored (to show collecting marks nothing read)."""
        imap = self.connect()
        try:
            imap.select("INBOX", readonly=True)
            status, data = imap.fetch("1:*", "(FLAGS)")
            return [d for d in data if d]
        finally:
            imap.logout()


_DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def _skip_loudly(reason: str):
    message = f"!!! IMAP tests SKIPPED: {reason}"
    print(message, file=sys.stderr)
    pytest.skip(message)


@contextlib.contextmanager
def _dovecot(tls: "Certificate | None" = None):
    """Dovecot on 127.0.0.1 with a throwaway config, passwd-file user and Maildir in a temp folder;
    with `tls`, IMAP over implicit TLS (imaps) with that certificate."""
    if _DOVECOT is None:
        _skip_loudly("dovecot is not installed (Debian package dovecot-imapd; `make test` installs it as root)")
    # Dovecot's unprivileged processes must reach the mail store: a world-traversable folder of
    # our own instead of pytest's private tmp folder.
    base = Path(tempfile.mkdtemp(prefix="baocao-dovecot-"))
    base.chmod(0o755)
    port = free_port()
    if os.geteuid() == 0:
        internal_user, login_user = "dovecot", "dovenull"
        try:
            mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        except KeyError:
            mail_uid = mail_gid = 65534
    else:
        internal_user = login_user = getpass.getuser()
        mail_uid, mail_gid = os.getuid(), os.getgid()
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir()
    if os.geteuid() == 0:
        os.chown(base / "mail", mail_uid, mail_gid)
    (base / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::\n", encoding="utf-8")
    (base / "users").chmod(0o644)
    if tls is None:
        ssl_settings = "ssl = no"
        listeners = (f"inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n"
                     f"  inet_listener imaps {{\n    port = 0\n  }}")
    else:
        dh = Path("/usr/share/dovecot/dh.pem")
        ssl_settings = (f"ssl = required\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}\n"
                        + (f"ssl_dh = <{dh}\n" if dh.exists() else ""))
        listeners = (f"inet_listener imap {{\n    port = 0\n  }}\n"
                     f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}")
    config = base / "dovecot.conf"
    config.write_text(f"""
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_settings}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={base}/mail/%u
}}
service imap-login {{
  {listeners}
}}
""", encoding="utf-8")
    process = subprocess.Popen([_DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not wait_for_port(port, process):
            log = (base / "dovecot.log").read_text(errors="replace") if (base / "dovecot.log").exists() else ""
            output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
            _skip_loudly(f"dovecot did not start on 127.0.0.1:{port}: {output.strip()} {log.strip()}"[:800])
        yield ImapServer(port=port, user=IMAP_USER, password=IMAP_PASSWORD, log=base / "dovecot.log", tls=tls)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def imap_server():
    with _dovecot() as server:
        yield server


@pytest.fixture
def imap_tls_server(certificate):
    with _dovecot(certificate) as server:
        yield server


# ------------------------------------------------------------------------------------------ TLS


@dataclass(frozen=True)
class Certificate:
    cert: Path      # also the CA file a client trusts (self-signed)
    key: Path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        message = "!!! TLS mail tests SKIPPED: the openssl command is not installed (Debian package openssl)"
        print(message, file=sys.stderr)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("tls")
    folder.chmod(0o755)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return Certificate(cert, key)


def server_tls_context(certificate: Certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    return context


@pytest.fixture(params=["starttls", "tls"])
def smtp_tls_server(request, certificate):
    """aiosmtpd speaking STARTTLS (port 587 style) or implicit TLS (port 465 style)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    server = SmtpServer(port=free_port(), security=request.param)

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        server.logins.append((_text(auth_data.login), _text(auth_data.password)))
        return AuthResult(success=(_text(auth_data.login), _text(auth_data.password)) == (SMTP_USER, SMTP_PASSWORD),
                          handled=False)

    context = server_tls_context(certificate)
    if request.param == "tls":
        controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port, ssl_context=context,
                                authenticator=authenticator, auth_required=True, auth_require_tls=False)
    else:
        controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port, tls_context=context,
                                require_starttls=True, authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


# ------------------------------------------------------------------------------------------ project set-up


def configure_mail(project: Path, **values) -> None:
    """Replaces the [mail] section of the project copy's config.toml (it is the last section)."""
    path = project / "inputs" / "config.toml"
    text = path.read_text(encoding="utf-8")
    if "\n[mail]" in text:
        text = text[:text.index("\n[mail]")]
    lines = ["", "[mail]"]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def smtp_config(server: SmtpServer, **extra) -> dict:
    return {"from_address": SMTP_USER, "from_name": "Sở Y tế tỉnh Lai Châu", "smtp_host": "127.0.0.1",
            "smtp_port": server.port, "smtp_security": "none", "smtp_user": SMTP_USER,
            "smtp_password_env": "BAOCAO_TEST_SMTP_PASSWORD", **extra}


def imap_config(server: ImapServer, **extra) -> dict:
    return {"from_address": SMTP_USER, "imap_host": "127.0.0.1", "imap_port": server.port,
            "imap_security": "none", "imap_user": server.user,
            "imap_password_env": "BAOCAO_TEST_IMAP_PASSWORD", **extra}


def set_emails(project: Path, emails: dict[str, str]) -> None:
    """Writes unit email addresses into the project copy's departments.csv and commune_contacts.csv."""
    import csv

    for name in ("departments.csv", "commune_contacts.csv"):
        path = project / "inputs" / name
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        for row in rows:
            if row["id"] in emails:
                row["email"] = emails[row["id"]]
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
