"""The console: a status page and inbox for operators, served by the daemon at ``/`` and
``/console/``.

No build step: the page is rendered here from one HTML template, and a few plain ES modules and
one stylesheet are shipped in the package (``static/``). The browser signs in with an API key
kept in ``sessionStorage`` and calls the documented HTTP API with it, so the console can do
exactly what the key may do and nothing else. Everything is served from the daemon itself
(no CDN) under a strict Content-Security-Policy: scripts, styles and images from this origin
only, no inline code, no framing.
"""

from http_api.console.routes import CONSOLE_ROUTES, setup_console

__all__ = ["CONSOLE_ROUTES", "setup_console"]
