"""The edges people use: the ``recall`` command line and the Flask site (``web.app``)."""
