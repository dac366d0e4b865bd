"""Tests for the hello app."""

from wsgiref.util import setup_testing_defaults

import app


def call(path):
    """Call the WSGI app for path and return (status, body)."""
    environ = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, headers):
        seen["status"] = status
        seen["headers"] = headers

    body = b"".join(app.application(environ, start_response))
    return seen["status"], body


def test_health():
    """The health endpoint answers ok."""
    status, body = call("/health")
    assert status == "200 OK"
    assert b'"status": "ok"' in body


def test_not_found():
    """Other paths are 404."""
    status, _ = call("/nope")
    assert status.startswith("404")
