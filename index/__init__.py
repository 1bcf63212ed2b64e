"""The transcript index: Whoosh behind a small API that speaks in :mod:`library.models`."""
