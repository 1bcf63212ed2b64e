"""The long-lived parts of Recall built from one configuration, for the CLI and the site."""

from __future__ import annotations

from dataclasses import dataclass

from index.search import TranscriptIndex, rebuild_index
from ingest.pipeline import Pipeline
from library.catalog import Catalog
from library.config import Config
from library.storage import Storage


@dataclass
class Services:
    config: Config
    catalog: Catalog
    storage: Storage
    index: TranscriptIndex
    pipeline: Pipeline

    def rebuild_index(self) -> int:
        self.index.close()
        count = rebuild_index(self.config.index_dir, self.catalog.iter_transcripts())
        self.index = TranscriptIndex(self.config.index_dir)
        self.pipeline.index = self.index
        return count

    def close(self) -> None:
        self.index.close()
        self.catalog.close()


def open_services(config: Config) -> Services:
    catalog = Catalog(config.database_url)
    storage = Storage(config.media_dir)
    index = TranscriptIndex(config.index_dir)
    return Services(config, catalog, storage, index, Pipeline(config, catalog, storage, index))
