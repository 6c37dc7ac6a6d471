"""The `[web]` section as the pages use it: declared and checked with every other section by the one
settings loader (pipeline/reference/settings.py, `WebSettings`); here only what the web adds."""

from __future__ import annotations

from pipeline.common.errors import ConfigError
from pipeline.intake.reader import MAX_FILE_BYTES
from pipeline.reference.settings import CONFIG_NAME, WebSettings

__all__ = ["WebSettings", "load_web_settings"]


def load_web_settings(settings) -> WebSettings:
    """The project's `[web]` (its defaults when the section is absent)."""
    web = settings.web
    if web.max_file_bytes > MAX_FILE_BYTES:   # (the loader's limit is this one; a guard should they part)
        raise ConfigError(f"{CONFIG_NAME}: [web] max_file_mb không được lớn hơn {MAX_FILE_BYTES // 1048576}.")
    return web
