"""The `[web]` section of inputs/config.toml, read strictly: each key with its type and default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass

from pipeline.reference.settings import CONFIG_RELATIVE
from pipeline.common.errors import ConfigError
from pipeline.intake.reader import MAX_FILE_BYTES

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""             # the address units reach the server at, e.g. https://baocao.syt.laichau.gov.vn
    officer_password_env: str = ""   # names the environment variable holding the officer's password
    max_file_mb: float = MAX_FILE_BYTES / 1048576

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1048576)

    def officer_password(self) -> str:
        """The officer's password from the environment ('' when none is set)."""
        return os.environ.get(self.officer_password_env, "") if self.officer_password_env else ""

    def base_url(self) -> str:
        """What unit links start with: public_url, else the address the server listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


_TYPES = {"host": str, "port": int, "public_url": str, "officer_password_env": str, "max_file_mb": (int, float)}


def load_web_settings(settings) -> WebSettings:
    """`[web]` of the project's config.toml (defaults when the section is absent); an unknown key or
    a wrong type is one Vietnamese line naming it."""
    path = settings.root / CONFIG_RELATIVE
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("web", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Tệp cấu hình {path} không đọc được: {exc}") from exc
    values = {}
    for key, value in section.items():
        if key not in _TYPES:
            raise ConfigError(f"{path}: mục [web] không có khóa {key!r} (các khóa: {', '.join(_TYPES)}).")
        if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            kind = "số" if key in ("port", "max_file_mb") else "chữ trong ngoặc kép"
            raise ConfigError(f"{path}: [web] {key} phải là {kind}, đang ghi {value!r}.")
        values[key] = value
    web = WebSettings(**values)
    if not 0 < web.port < 65536:
        raise ConfigError(f"{path}: [web] port phải từ 1 đến 65535, đang ghi {web.port}.")
    if not 0 < web.max_file_bytes <= MAX_FILE_BYTES:
        raise ConfigError(f"{path}: [web] max_file_mb phải lớn hơn 0 và không quá {MAX_FILE_BYTES // 1048576} "
                          f"(cỡ tệp lớn nhất khâu tiếp nhận đọc được), đang ghi {web.max_file_mb}.")
    if web.public_url and not web.public_url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}: [web] public_url phải bắt đầu bằng http:// hoặc https://, đang ghi "
                          f"{web.public_url!r}.")
    return web
