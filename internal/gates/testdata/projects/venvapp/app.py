"""An app whose one dependency is installed only in its own virtualenv."""

import ferry_venvonly


def application(environ, start_response):
    """Answer every request with the dependency's greeting."""
    del environ
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [ferry_venvonly.GREETING.encode()]
