"""A local simulation of WhatsApp's server side: ``wamd sandbox``, and what integration tests
run against.

One aiohttp application on one host:port (``sandbox.app.SandboxServer``) serves the websocket
``/ws/chat`` (Noise responder with the sandbox's own certificate root, registration and login,
routing), the admin API under ``/admin`` (``sandbox.admin``) and the media host (``/mms``,
``/v``). ``sandbox.network.Network`` is the routing core; every account has a simulated phone
(``sandbox.phone``) attached as its device 0. State lives in the state directory: keys,
``root.pub`` and the SQLite database (``storage.sandbox_state``).
"""
