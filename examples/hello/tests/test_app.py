import json
import os
import sys
import threading
import urllib.request
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import app  # noqa: E402


def test_health_body_carries_version(monkeypatch):
    monkeypatch.setenv("FERRY_SHA", "a" * 40)
    body = app.health_body()
    assert body["status"] == "healthy"
    assert body["version"] == "a" * 40
    assert body["timestamp"]


def test_version_defaults_to_dev(monkeypatch, tmp_path):
    monkeypatch.delenv("FERRY_SHA", raising=False)
    monkeypatch.setattr(app, "__file__", str(tmp_path / "app.py"))
    assert app.version() == "dev"


def test_serves_health_over_http(monkeypatch):
    monkeypatch.setenv("FERRY_SHA", "b" * 40)
    server = ThreadingHTTPServer(("127.0.0.1", 0), app.Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/health" % server.server_address[1]
        # nosec B310: a loopback http URL built just above
        with urllib.request.urlopen(url, timeout=5) as resp:  # nosec B310
            doc = json.load(resp)
        assert resp.status == 200
        assert doc["version"] == "b" * 40
    finally:
        server.shutdown()
        server.server_close()
