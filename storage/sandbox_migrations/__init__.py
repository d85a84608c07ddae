"""Schema migrations of the sandbox's own database (``NNNN_name.sql``).

See :mod:`storage.migrate`.
"""
