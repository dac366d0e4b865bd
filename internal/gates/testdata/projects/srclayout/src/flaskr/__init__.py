"""A Flask-style app factory in a src layout, standard library only.

create_app() needs the production configuration, so anything that calls
it without one fails: the smoke gate must import the package and call
nothing.
"""

import os

from flaskr.views import route


def create_app():
    """Build the WSGI app from the environment's configuration."""
    database = os.environ["FLASKR_DATABASE"]

    def app(environ, start_response):
        status, body = route(environ.get("PATH_INFO", "/"), database)
        start_response(status, [("Content-Type", "text/plain")])
        return [body.encode()]

    return app
