"""Schema migrations of the sandbox's own database (``NNNN_name.sql``), see :mod:`storage.migrate`."""
