"""A stdlib-only web app: WSGI, with the /health endpoint ferry probes."""

import json
import os
from wsgiref.simple_server import make_server

VERSION = os.environ.get("APP_VERSION", "dev")


def health():
    """Return the body of the health check."""
    return {"status": "ok", "version": VERSION}


def application(environ, start_response):
    """Serve /health as JSON and anything else as 404."""
    if environ.get("PATH_INFO") == "/health":
        body = json.dumps(health()).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


def main():
    """Serve on $PORT locally; production runs gunicorn app:application."""
    port = int(os.environ.get("PORT", "8000"))
    with make_server("127.0.0.1", port, application) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
