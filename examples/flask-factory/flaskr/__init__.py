"""An app factory in the shape of Flask's tutorial: configuration,
a SQLite database in the instance folder, and an init-db command."""
import os

from flask import Flask, jsonify

from . import db


def create_app(test_config=None):
    """Create and configure the app. ferry runs it with waitress:
    waitress-serve --call flaskr:create_app."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev"),
        DATABASE=os.path.join(app.instance_path, "flaskr.sqlite"),
    )
    if test_config is None:
        # instance/config.py, if the server has one (kept in shared/).
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)

    @app.route("/health")
    def health():
        # ferry checks that the release that answers is the one it started.
        return jsonify(status="ok", version=os.environ.get("FERRY_SHA", ""))

    @app.route("/")
    def index():
        hits = db.hit()
        return jsonify(hits=hits, greeting=app.config.get("GREETING", "hello"))

    return app
