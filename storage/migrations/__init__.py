"""Schema migrations shipped as package data (``NNNN_name.sql``), applied by
:mod:`storage.migrate`."""
