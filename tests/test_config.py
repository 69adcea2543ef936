"""Settings are read and checked once, when the app is created; a bad value stops the start
with a message that names the variable."""
from __future__ import annotations

import pytest

from classroom import create_app
from classroom.config import ConfigError, load_config, model_settings

SETTINGS = ("DATABASE_URL", "REDIS_URL", "CLASSROOM_TIMEZONE", "MAX_UPLOAD_BYTES", "OPENAI_BASE_URL", "OPENAI_API_KEY",
            "GRADER_MODEL", "GRADER_TIMEOUT", "GRADER_MAX_ATTEMPTS", "GRADER_BACKOFF_BASE", "WORKER_CONCURRENCY",
            "WORKER_NICENESS", "GRADER_CALIBRATION_EXAMPLES",
            "JOB_LEASE_SECONDS", "JOB_RECOVERY_SECONDS", "JOB_QUEUE_NAME", "TRUSTED_PROXIES", "SESSION_COOKIE_SECURE",
            "CSRF_TIME_LIMIT_SECONDS", "HUEY_SQLITE_PATH", "SECRET_KEY")


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLASSROOM_INSTANCE_DIR", str(tmp_path))
    return monkeypatch


def test_defaults(env, tmp_path):
    config = load_config(tmp_path)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'classroom.sqlite3'}"
    assert config["REDIS_URL"] is None and config["GRADER_MODEL"] is None
    assert (config["GRADER_TIMEOUT"], config["GRADER_MAX_ATTEMPTS"], config["GRADER_BACKOFF_BASE"]) == (60.0, 4, 1.0)
    assert config["WORKER_CONCURRENCY"] == 8 and config["SESSION_COOKIE_SECURE"] is False
    assert config["WORKER_NICENESS"] == 10  # grading yields the CPU to requests
    assert model_settings(config) is None
    assert config["GRADER_CALIBRATION_EXAMPLES"] == 3


def test_good_values_are_typed(env, tmp_path):
    for name, value in {"GRADER_MODEL": " llama3 ", "OPENAI_BASE_URL": "http://h:8000/v1", "OPENAI_API_KEY": "",
                        "GRADER_TIMEOUT": "12.5", "GRADER_MAX_ATTEMPTS": "2", "GRADER_BACKOFF_BASE": "0",
                        "WORKER_CONCURRENCY": "16", "SESSION_COOKIE_SECURE": "yes", "REDIS_URL": "redis://r:6379/2",
                        "CLASSROOM_TIMEZONE": "Europe/Berlin", "JOB_RECOVERY_SECONDS": "0.5"}.items():
        env.setenv(name, value)
    config = load_config(tmp_path)
    settings = model_settings(config)
    assert (settings.model, settings.base_url, settings.api_key) == ("llama3", "http://h:8000/v1", None)
    assert (settings.timeout, settings.max_attempts, settings.backoff_base) == (12.5, 2, 0.0)
    assert config["WORKER_CONCURRENCY"] == 16 and config["SESSION_COOKIE_SECURE"] is True
    assert config["JOB_RECOVERY_SECONDS"] == 0.5 and config["CLASSROOM_TIMEZONE"] == "Europe/Berlin"


def test_a_role_model_falls_back_to_the_grader_model():
    config = {"GRADER_MODEL": "big", "TUTEE_MODEL": None, "GRADER_TIMEOUT": 5.0}
    assert model_settings(config, "TUTEE_MODEL").model == "big"
    assert model_settings({**config, "TUTEE_MODEL": "small"}, "TUTEE_MODEL").model == "small"
    assert model_settings({**config, "TUTEE_MODEL": "small"}, "TUTEE_MODEL").model_variable == "TUTEE_MODEL"


@pytest.mark.parametrize("name, value, words", [
    ("GRADER_TIMEOUT", "soon", "a number"),
    ("GRADER_TIMEOUT", "0", "more than 0"),
    ("GRADER_TIMEOUT", "nan", "finite"),
    ("GRADER_MAX_ATTEMPTS", "0", "from 1 to 20"),
    ("GRADER_MAX_ATTEMPTS", "2.5", "whole number"),
    ("GRADER_BACKOFF_BASE", "-1", "at least 0"),
    ("GRADER_CALIBRATION_EXAMPLES", "21", "from 0 to 20"),
    ("GRADER_CALIBRATION_EXAMPLES", "a few", "whole number"),
    ("WORKER_CONCURRENCY", "0", "from 1 to 64"),
    ("WORKER_NICENESS", "20", "from 0 to 19"),
    ("WORKER_NICENESS", "lowest", "idle or a whole number"),
    ("JOB_LEASE_SECONDS", "ten", "whole number"),
    ("JOB_RECOVERY_SECONDS", "0", "more than 0"),
    ("JOB_QUEUE_NAME", "my queue!", "letters, digits"),
    ("MAX_UPLOAD_BYTES", "10", "at least 1024"),
    ("TRUSTED_PROXIES", "-1", "from 0 to 10"),
    ("CSRF_TIME_LIMIT_SECONDS", "5", "at least 60"),
    ("SESSION_COOKIE_SECURE", "maybe", "1 or 0"),
    ("CLASSROOM_TIMEZONE", "Mars/Olympus", "time zone name"),
    ("OPENAI_BASE_URL", "localhost:11434/v1", "http://"),
    ("REDIS_URL", "127.0.0.1:6379", "redis://"),
    ("DATABASE_URL", "mysql://u@h/db", "SQLite or PostgreSQL"),
])
def test_a_bad_value_names_its_variable(env, tmp_path, name, value, words):
    env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value).startswith(name) and words in str(err.value) and repr(value) in str(err.value)


def test_the_app_does_not_start_with_a_bad_value(env, tmp_path):
    env.setenv("GRADER_MAX_ATTEMPTS", "many")
    with pytest.raises(ConfigError, match="GRADER_MAX_ATTEMPTS must be a whole number"):
        create_app({"TESTING": True})
