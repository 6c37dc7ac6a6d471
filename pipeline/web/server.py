"""Starting the web application: the address checks (no officer pages beyond this machine without a
password), the production server (uvicorn, which runs on Windows too) and the browser."""

from __future__ import annotations

import threading
import webbrowser

from pipeline.common.errors import BaocaoError
from pipeline.web.security import is_loopback
from pipeline.web.settings import load_web_settings


class ServeError(BaocaoError):
    """The server cannot start as asked: one Vietnamese line."""


def check_bind(host: str, web) -> None:
    """Refuses to listen beyond this machine unless the officer's pages need a password."""
    if is_loopback(host):
        return
    if not web.officer_password_env:
        raise ServeError(f"Không mở trang web trên địa chỉ {host}: trang của cán bộ sẽ mở cho cả mạng. Ghi [web] "
                         "officer_password_env (tên biến môi trường chứa mật khẩu) trong inputs/config.toml, hoặc "
                         "dùng --host 127.0.0.1.")
    if not web.officer_password():
        raise ServeError(f"Không mở trang web trên địa chỉ {host}: biến môi trường {web.officer_password_env} "
                         "(mật khẩu trang cán bộ) chưa được đặt.")


def serve(project, host: str | None = None, port: int | None = None, open_browser: bool = True, echo=print) -> None:
    import dataclasses

    import uvicorn

    from pipeline.web.app import create_app

    web = load_web_settings(project.settings)
    web = dataclasses.replace(web, host=host or web.host, port=port or web.port)
    check_bind(web.host, web)
    app = create_app(project, web)
    shown = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{web.port}/can-bo"
    echo(f"Trang web của chương trình: {url}  (dừng: Ctrl+C)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(app, host=web.host, port=web.port, log_level="warning", access_log=False)
    except OSError as exc:
        raise ServeError(f"Không mở được cổng {web.port} trên {web.host} ({exc.strerror or exc}): cổng có thể đang "
                         "được chương trình khác dùng; chọn cổng khác bằng --port.") from exc


class ServerThread:
    """The app served by uvicorn on a free loopback port in a thread of this process, for the
    browser tests, the screenshots and the benchmark: `with ServerThread(app) as server: server.url`."""

    def __init__(self, app, host: str = "127.0.0.1"):
        import socket

        import uvicorn

        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning"))
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "ServerThread":
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        end = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise ServeError("Máy chủ web không khởi động được.")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
