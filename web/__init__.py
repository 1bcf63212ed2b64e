"""The edges people use: the ``recall`` command line (and, later, the Flask site)."""
