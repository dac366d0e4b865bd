"""Tests for the app factory: flaskr imports only with src on the path."""

from flaskr import create_app


def test_health(monkeypatch):
    """The factory builds an app that answers /health."""
    monkeypatch.setenv("FLASKR_DATABASE", "sqlite://")
    app = create_app()
    seen = {}

    def start_response(status, headers):
        seen["status"] = status
        seen["headers"] = headers

    body = b"".join(app({"PATH_INFO": "/health"}, start_response))
    assert seen["status"] == "200 OK"
    assert body == b"ok sqlite://"
