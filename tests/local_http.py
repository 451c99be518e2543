"""HTTP servers on 127.0.0.1 for the download tests: each answers GETs with a handler the test writes."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class LocalServers:
    """``servers(handler)``: the URL of a new server answering each GET with ``handler(request)``; ``stop()`` ends
    them all, their ports then refusing connections, as an offline machine's requests fail."""

    def __init__(self) -> None:
        self.servers: list[http.server.ThreadingHTTPServer] = []

    def __call__(self, handler: Handler) -> str:
        class Answer(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    handler(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def log_message(self, *args: object) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    def stop(self) -> None:
        while self.servers:
            httpd = self.servers.pop()
            httpd.shutdown()
            httpd.server_close()
