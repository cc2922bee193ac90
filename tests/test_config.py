"""The configuration tree: every default is configs/default.yaml's, a user file and flags override
single fields, a bad value is a usage error."""

from __future__ import annotations

import pytest
import yaml
from pydantic_core import PydanticUndefined

from pipeline.config import DEFAULT_CONFIG, Config, Section, load_config
from pipeline.errors import UsageError


def _sections(model: type[Section], path: tuple[str, ...] = ()):
    yield path, model
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, Section):
            yield from _sections(info.annotation, (*path, name))


def test_every_default_is_the_yaml_files_and_every_setting_in_it_is_a_field():
    tree = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    for path, model in _sections(Config):
        given = tree
        for key in path:
            given = given[key]
        assert model.yaml_path == path
        for name, info in model.model_fields.items():
            assert name in given, f"{'.'.join((*path, name))} has no value in default.yaml"
            if not (isinstance(info.annotation, type) and issubclass(info.annotation, Section)):
                assert info.default is not PydanticUndefined and info.description, name
        assert set(given) == set(model.model_fields), path
    assert load_config() == Config()


def test_a_user_file_and_flags_override_single_fields(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("ocr:\n  tesseract:\n    timeout: 5\nread:\n  review_confidence: 0.8\n", encoding="utf-8")
    cfg = load_config(mine, {"batch": {"workers": 2}})
    assert (cfg.ocr.tesseract.timeout, cfg.read.review_confidence, cfg.batch.workers) == (5, 0.8, 2)
    assert cfg.ocr.engine == Config().ocr.engine and cfg.ocr.rapidocr == Config().ocr.rapidocr


def test_a_bad_value_or_an_unknown_setting_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="workers"):
        load_config(None, {"batch": {"workers": 0}})
    with pytest.raises(UsageError, match="ink_threshold"):
        load_config(None, {"read": {"ink_threshold": 60}})  # the grid's, once
