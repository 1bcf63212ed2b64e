"""Configuration: ``config.toml`` read once at the edge into frozen dataclasses.

Every key is optional; an unknown key or a value of the wrong type is a :class:`ConfigError`
naming it. Relative paths are resolved against the directory of the file they came from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from library.errors import ConfigError
from library.models import Publish


@dataclass(frozen=True)
class LibraryConfig:
    data_dir: Path = Path("var")
    database_url: str = ""
    base_url: str = ""
    publish: str = "immediately"

    @property
    def publish_mode(self) -> Publish:
        return Publish(self.publish)

    min_free_mb: int = 1000
    pg_bin_dir: str = ""


@dataclass(frozen=True)
class IngestConfig:
    keep_source: bool = True
    min_duration: float = 0.5
    poster_at: float = 0.1
    silence_dbfs: float = -55.0


@dataclass(frozen=True)
class TranscribeConfig:
    model: str = "tiny.en"
    device: str = "cpu"
    compute_type: str = "auto"
    cpu_threads: int = 0
    batch_size: int = 8
    beam_size: int = 1
    language: str = "en"
    max_cue_seconds: float = 15.0
    window_seconds: float = 600.0
    vad_threshold: float = 0.5
    recover_speech: bool = True
    split_channels: bool = True
    low_coverage: float = 0.6
    vocabulary: str = "hotwords"
    vocabulary_characters: int = 400
    unsure_below: float = 0.7


@dataclass(frozen=True)
class JobsConfig:
    queue_url: str = ""
    workers: int = 1
    lease_seconds: float = 60.0


@dataclass(frozen=True)
class WebConfig:
    max_upload_mb: int = 20000
    session_idle_days: int = 14
    trusted_proxies: int = 0
    clip_workers: int = 1
    clip_requests: int = 6
    clip_timeout: float = 60.0
    clip_cache_mb: float = 500.0
    max_clip_seconds: float = 600.0
    upload_reserve_mb: int = 1024
    metrics_from: tuple[str, ...] = ("127.0.0.1",)
    accel_redirect: str = ""
    limits_url: str = ""


@dataclass(frozen=True)
class IndexConfig:
    dir: Path | None = None
    semantic: str = "auto"


@dataclass(frozen=True)
class Config:
    library: LibraryConfig = field(default_factory=LibraryConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    transcribe: TranscribeConfig = field(default_factory=TranscribeConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def data_dir(self) -> Path:
        return self.library.data_dir

    @property
    def database_url(self) -> str:
        if self.library.database_url:
            return self.library.database_url
        return f"sqlite:///{self.data_dir / 'catalog.sqlite3'}"

    @property
    def index_dir(self) -> Path:
        return self.index.dir if self.index.dir is not None else self.data_dir / "index"

    @property
    def vectors_dir(self) -> Path:
        """Sentence embeddings for semantic search, one file per recording."""
        return self.index_dir.with_name(self.index_dir.name + "-vectors")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def uploads_dir(self) -> Path:
        """Uploads in progress; inside data_dir so a finished one moves into media by rename."""
        return self.data_dir / "uploads"


_T = TypeVar("_T")


def _section(cls: type[_T], name: str, raw: Any, base: Path, source: str) -> _T:
    if not isinstance(raw, dict):
        raise ConfigError(source, f"[{name}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(source, f"unknown key {name}.{key}")
        default = fields[key].default
        values[key] = _coerce(f"{name}.{key}", value, default, base, source)
    return cls(**values)


def _coerce(key: str, value: Any, default: Any, base: Path, source: str) -> Any:
    if isinstance(default, Path) or key == "index.dir":
        if not isinstance(value, str):
            raise ConfigError(source, f"{key} must be a path string")
        if key == "index.dir" and value == "":
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(source, f"{key} must be a list of strings")
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(source, f"{key} must be true or false")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, f"{key} must be a number")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, f"{key} must be a whole number")
        return value
    if not isinstance(value, str):
        raise ConfigError(source, f"{key} must be a string")
    return value


_SECTIONS: dict[str, type[Any]] = {
    "library": LibraryConfig,
    "ingest": IngestConfig,
    "transcribe": TranscribeConfig,
    "index": IndexConfig,
    "jobs": JobsConfig,
    "web": WebConfig,
}


def parse_config(raw: dict[str, Any], base: Path, source: str = "config") -> Config:
    """Build a :class:`Config` from parsed TOML. Raises :class:`ConfigError`."""
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(source, f"unknown section [{name}]")
        sections[name] = _section(_SECTIONS[name], name, value, base, source)
    config = Config(**sections)
    if "data_dir" not in raw.get("library", {}):
        config = dataclasses.replace(
            config, library=dataclasses.replace(config.library, data_dir=base / "var")
        )
    _validate(config, source)
    return config


def _validate(config: Config, source: str) -> None:
    t = config.transcribe
    if t.batch_size < 1 or t.beam_size < 1 or t.cpu_threads < 0 or t.max_cue_seconds < 2:
        raise ConfigError(
            source,
            "transcribe.batch_size and beam_size must be >= 1, cpu_threads >= 0, "
            "max_cue_seconds >= 2",
        )
    if not 0 < t.vad_threshold < 1 or not 0 <= t.low_coverage <= 1:
        raise ConfigError(
            source, "transcribe.vad_threshold must be between 0 and 1, low_coverage 0 to 1"
        )
    if t.window_seconds < 60:
        raise ConfigError(source, "transcribe.window_seconds must be at least 60")
    if t.vocabulary not in ("hotwords", "prompt", "off") or t.vocabulary_characters < 0:
        raise ConfigError(
            source,
            "transcribe.vocabulary must be hotwords, prompt or off; vocabulary_characters >= 0",
        )
    if not 0 <= t.unsure_below <= 1:
        raise ConfigError(source, "transcribe.unsure_below must be between 0 and 1")
    if config.index.semantic not in ("auto", "on", "off"):
        raise ConfigError(source, "index.semantic must be auto, on or off")
    if config.jobs.workers < 1 or config.jobs.lease_seconds < 10:
        raise ConfigError(source, "jobs.workers must be >= 1 and jobs.lease_seconds >= 10")
    if config.jobs.queue_url and not config.jobs.queue_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ConfigError(source, "jobs.queue_url must be empty or a redis:// URL")
    if config.web.limits_url and not config.web.limits_url.startswith(
        ("redis://", "rediss://", "unix://", "memory://")
    ):
        raise ConfigError(
            source,
            "web.limits_url must be empty, memory:// or a Redis URL (redis://, rediss://, unix://)",
        )
    if config.web.max_upload_mb < 1 or config.web.upload_reserve_mb < 0:
        raise ConfigError(source, "web.max_upload_mb must be >= 1 and upload_reserve_mb >= 0")
    if config.web.session_idle_days < 1 or config.web.trusted_proxies < 0:
        raise ConfigError(source, "web.session_idle_days must be >= 1, trusted_proxies >= 0")
    base = urlsplit(config.library.base_url)
    if config.library.base_url and (base.scheme not in ("http", "https") or not base.netloc):
        raise ConfigError(source, "library.base_url must be empty or start http:// or https://")
    w = config.web
    if (
        w.clip_workers < 1
        or w.clip_requests < 1
        or w.clip_timeout <= 0
        or w.clip_cache_mb <= 0
        or w.max_clip_seconds < 1
    ):
        raise ConfigError(
            source,
            "web.clip_workers and clip_requests must be >= 1, clip_timeout and clip_cache_mb > 0, "
            "max_clip_seconds >= 1",
        )
    if config.library.publish not in {p.value for p in Publish}:
        raise ConfigError(source, 'library.publish must be "immediately" or "after review"')
    if config.library.min_free_mb < 0:
        raise ConfigError(source, "library.min_free_mb must be >= 0")
    if config.library.database_url:
        _check_database_url(config.library.database_url, source)
    for network in config.web.metrics_from:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as e:
            raise ConfigError(
                source, f"web.metrics_from: {network!r} is not an address or CIDR network"
            ) from e
    accel = config.web.accel_redirect
    if accel and not re.fullmatch(r"/([A-Za-z0-9._~-]+/)*", accel):
        raise ConfigError(
            source,
            'web.accel_redirect must be empty or a path that starts and ends with "/", '
            'e.g. "/_recall_media/"',
        )
    if not 0 <= config.ingest.poster_at < 1:
        raise ConfigError(source, "ingest.poster_at must be in [0, 1)")


_DATABASE_EXAMPLE = (
    'e.g. "postgresql+psycopg://recall@localhost/recall" or "sqlite:////srv/recall/catalog.sqlite3"'
    ", or empty for a SQLite file inside data_dir"
)


def _check_database_url(url: str, source: str) -> None:
    """A catalog URL Recall can open: SQLite (a file) or PostgreSQL through psycopg 3, whose
    driver is installed. Checked here, so that a typo is one line naming the setting before
    anything is made, not a traceback from the first connection. Messages never repeat the
    URL: it may hold a password."""
    try:
        parsed = make_url(url)
        driver = parsed.get_dialect().driver
    except (ArgumentError, NoSuchModuleError, ValueError) as e:
        raise ConfigError(
            source, f"library.database_url is not a database URL Recall knows; {_DATABASE_EXAMPLE}"
        ) from e
    backend = parsed.get_backend_name()
    if (backend, driver) not in {("sqlite", "pysqlite"), ("postgresql", "psycopg")}:
        raise ConfigError(
            source,
            f"library.database_url names {backend} through {driver}, which Recall does not "
            f"support: it needs PostgreSQL through psycopg, or SQLite; {_DATABASE_EXAMPLE}",
        )
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError(
            source,
            "library.database_url: a SQLite catalog must be a file, e.g. "
            '"sqlite:////srv/recall/catalog.sqlite3" (an in-memory one is lost on exit)',
        )
    if backend == "postgresql" and importlib.util.find_spec("psycopg") is None:
        raise ConfigError(
            source,
            "library.database_url names PostgreSQL, but its driver psycopg is not installed: "
            "pip install 'recall-sessions[postgres]'",
        )


def load_config(path: Path | None = None) -> Config:
    """Read the configuration: ``path``, else ``$RECALL_CONFIG``, else ``./config.toml``.

    With no file at all the defaults apply, with data in ``./var``.
    Raises :class:`ConfigError` for a missing explicit file, bad TOML or a bad key.
    """
    explicit = path is not None or "RECALL_CONFIG" in os.environ
    if path is None:
        path = Path(os.environ.get("RECALL_CONFIG", "config.toml"))
    path = path.expanduser()
    if not path.exists():
        if explicit:
            raise ConfigError(str(path), "no such configuration file")
        return parse_config({}, Path.cwd().resolve(), "defaults")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), f"cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), f"not valid TOML: {e}") from e
    return parse_config(raw, path.resolve().parent, str(path))
