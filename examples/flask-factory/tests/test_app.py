"""Tests of the example app, run with pytest from examples/flask-factory."""
import os

import pytest

from flaskr import create_app
from flaskr.db import init_db


@pytest.fixture(name="app")
def fixture_app(tmp_path):
    """An app whose database lives in a temporary directory."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "test.sqlite")})
    with app.app_context():
        init_db()
    return app


def test_health_names_the_release(app, monkeypatch):
    """/health answers the commit ferry deployed."""
    monkeypatch.setenv("FERRY_SHA", "abc123")
    resp = app.test_client().get("/health")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "version": "abc123"}


def test_hits_are_counted(app):
    """Each visit is counted in SQLite."""
    client = app.test_client()
    assert client.get("/").get_json()["hits"] == 1
    assert client.get("/").get_json()["hits"] == 2


def test_init_db_keeps_data(app):
    """init-db runs on every deploy: it must keep what is there."""
    client = app.test_client()
    client.get("/")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert "initialized" in result.output, result.output
    assert client.get("/").get_json()["hits"] == 2


def test_factory_uses_instance_folder():
    """By default the database is in the instance folder (shared: in ferry.yml)."""
    app = create_app({"TESTING": True})
    assert app.config["DATABASE"] == os.path.join(app.instance_path, "flaskr.sqlite")
