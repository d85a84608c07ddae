"""Build hook for the optional compiled decoder; everything else is in pyproject.toml.

The extension is optional: where no C compiler or Python headers are available the build goes on
without it and daemon.binary decodes in pure Python (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("daemon.binary._speedups", ["daemon/binary/_speedups.c"], optional=True),
        Extension(
            "storage._wal_gather", ["storage/_wal_gather.c"], libraries=["sqlite3"], optional=True
        ),
    ]
)
