"""The SQLite database: one connection per request, and the init-db
command that ferry runs before each switch (hooks.before_switch)."""
import sqlite3

import click
from flask import current_app, g
from flask.cli import with_appcontext

SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO hits (id, n) VALUES (1, 0);
"""


def get_db():
    """The request's connection to the database in the instance folder."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(_exc=None):
    """Close the request's connection, if it opened one."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def init_db():
    """Create what is missing and keep what is there: a migration that
    runs on every deploy must never drop the data."""
    get_db().executescript(SCHEMA)
    get_db().commit()


def hit():
    """Count one visit and return the count so far."""
    conn = get_db()
    conn.execute("UPDATE hits SET n = n + 1 WHERE id = 1")
    conn.commit()
    return conn.execute("SELECT n FROM hits WHERE id = 1").fetchone()["n"]


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database tables if they do not exist."""
    init_db()
    click.echo("initialized the database")


def init_app(app):
    """Register the teardown and the init-db command with the app."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
