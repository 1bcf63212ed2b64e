import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from library.config import Config, load_config, parse_config
from library.errors import ConfigError

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
