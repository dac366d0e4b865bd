"""hello: a stdlib-only web app that ferry deploys in its examples and tests.

GET /        a greeting
GET /health  {"status": "healthy", "version": "<sha>", "timestamp": "..."}

The version is the deployed commit: ferry sets FERRY_SHA, and each release
holds a REVISION file.
"""
import json
import os
import signal
import sys
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def version():
    """Return the deployed commit SHA, or "dev" outside a release."""
    sha = os.environ.get("FERRY_SHA")
    if sha:
        return sha
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "REVISION")
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "dev"


def health_body():
    """Return the /health document."""
    return {
        "status": "healthy",
        "version": version(),
        "timestamp": datetime.now(timezone.utc).isoformat(),
    }


class Handler(BaseHTTPRequestHandler):
    """Answer / and /health."""

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if self.path == "/health":
            self.reply(200, health_body())
        elif self.path == "/":
            self.reply(200, {"message": "Hello from ferry",
                             "version": version()})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stdout.write("%s %s\n" % (self.address_string(), format % args))


def main():
    """Serve until SIGTERM."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer((host, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("hello %s listening on http://%s:%d/"
          % (version()[:12], host, port), flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
