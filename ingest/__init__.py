"""Side effects on media: probe, make playable, analyse audio, transcribe, write captions.

:mod:`ingest.pipeline` runs them as ordered, resumable stages.
"""
