"""The domain of Recall: configuration, catalog, storage layout and errors.

Nothing here imports another Recall package; ``ingest``, ``index`` and ``web`` speak in the
dataclasses defined in :mod:`library.models`.
"""
