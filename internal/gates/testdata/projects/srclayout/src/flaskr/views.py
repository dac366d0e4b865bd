"""Routes of the flaskr app."""


def route(path, database):
    """Return the status and body for path."""
    if path == "/health":
        return "200 OK", "ok " + database
    return "404 Not Found", "not found"
