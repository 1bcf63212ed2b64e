"""Alembic's scripts for the catalog's schema: ``env.py`` and one file per revision in
``versions/``. They are run by :mod:`library.schema`, never imported by Recall's code."""
