import dataclasses
import re
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from library.config import Config, load_config, parse_config
from library.errors import ConfigError
from web.cli import cli

ROOT = Path(__file__).parent.parent


def test_defaults_apply_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECALL_CONFIG", raising=False)
    config = load_config()
    assert config.data_dir == tmp_path / "var"
    assert config.database_url == f"sqlite:///{tmp_path / 'var' / 'catalog.sqlite3'}"
    assert config.index_dir == tmp_path / "var" / "index"
    assert config.transcribe.model == "tiny.en"


def test_shipped_config_equals_the_defaults() -> None:
    shipped = load_config(ROOT / "config.toml")
    assert shipped == parse_config({}, ROOT)


def test_every_setting_is_documented_in_config_toml() -> None:
    text = (ROOT / "config.toml").read_text()
    raw = tomllib.loads(text)
    for section in dataclasses.fields(Config):
        keys = [f.name for f in dataclasses.fields(getattr(Config(), section.name))]
        assert section.name in raw, f"[{section.name}] missing from config.toml"
        for key in keys:
            assert key in raw[section.name], f"{section.name}.{key} missing from config.toml"
            # The line before the key (or the key's own line) carries a comment.
            match = re.search(rf"((?:^#.*\n)+)^{key} = ", text, re.MULTILINE)
            assert match, f"{section.name}.{key} has no comment above it"


def test_unknown_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[transcribe]\nmodle = "base"\n')
    with pytest.raises(ConfigError, match=r"unknown key transcribe\.modle"):
        load_config(path)


def test_unknown_section_and_bad_types_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[website\]"):
        parse_config({"website": {}}, tmp_path)
    with pytest.raises(ConfigError, match=r"transcribe\.batch_size must be a whole number"):
        parse_config({"transcribe": {"batch_size": "8"}}, tmp_path)
    with pytest.raises(ConfigError, match="not valid TOML"):
        bad = tmp_path / "bad.toml"
        bad.write_text("[library\n")
        load_config(bad)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "recall.toml"
    path.parent.mkdir()
    path.write_text('[library]\ndata_dir = "data"\n[index]\ndir = "/srv/idx"\n')
    config = load_config(path)
    assert config.data_dir == tmp_path / "conf" / "data"
    assert config.index_dir == Path("/srv/idx")


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_config_is_frozen() -> None:
    config = parse_config({}, Path("/tmp"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.library.base_url = "x"  # type: ignore[misc]


# Each with a password that must not be shown.
BAD_DATABASE_URLS = {
    "nonsense": "not a database URL",
    "postgresql://u:secret@127.0.0.1:port/x": "not a database URL",
    "http://u:secret@127.0.0.1/x": "not a database URL",
    "mysql://u:secret@127.0.0.1/x": "names mysql through mysqldb",
    "postgresql+psycopg2://u:secret@127.0.0.1/x": "names postgresql through psycopg2",
    "postgresql+asyncpg://u:secret@127.0.0.1/x": "names postgresql through asyncpg",
    "sqlite://": "a SQLite catalog must be a file",
    "sqlite:///:memory:": "a SQLite catalog must be a file",
}


@pytest.mark.parametrize("url", sorted(BAD_DATABASE_URLS))
def test_a_database_url_recall_cannot_use_is_one_line_naming_it_and_changes_nothing(
    tmp_path: Path, url: str
) -> None:
    (tmp_path / "config.toml").write_text(
        f'[library]\ndata_dir = "var"\ndatabase_url = "{url}"\n[index]\nsemantic = "off"\n'
    )
    for command in (["list"], ["db", "current"], ["backup", str(tmp_path / "backup")]):
        result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), *command])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith(f"recall: {tmp_path / 'config.toml'}: library.database_url"), line
        assert BAD_DATABASE_URLS[url] in line and "secret" not in line, line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_postgresql_url_without_its_driver_installed_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one missing part that cannot exist here: psycopg is installed for the tests.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError, match=r"psycopg is not installed: pip install"):
        parse_config({"library": {"database_url": "postgresql+psycopg://u@127.0.0.1/x"}}, tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://recall@localhost/recall",
        "postgresql+psycopg://recall@/recall",  # the Unix socket (docs/deploy.md)
        "postgresql+psycopg://u:p%40ss@127.0.0.1:5432/x",
        "sqlite:////srv/recall/catalog.sqlite3",
        "sqlite:///relative/catalog.sqlite3",
        "sqlite+pysqlite:////srv/recall/catalog.sqlite3",
    ],
)
def test_the_database_urls_recall_supports_are_accepted(tmp_path: Path, url: str) -> None:
    config = parse_config({"library": {"database_url": url}}, tmp_path)
    assert config.database_url == url
