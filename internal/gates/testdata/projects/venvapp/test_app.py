"""Tests for the venv app; they pass only with the venv's interpreter."""

import app


def test_greets():
    """The app answers with the dependency's greeting."""
    seen = {}

    def start_response(status, headers):
        seen["status"] = status
        seen["headers"] = headers

    body = b"".join(app.application({}, start_response))
    assert seen["status"] == "200 OK"
    assert body == b"hello from the venv"
