"""Fixtures for the grading tests: a loopback OpenAI-compatible server per test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The repository root must be importable (classroom/, tests/openai_server.py) however pytest is run.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import openai_server as _server_module  # noqa: E402
from tests.openai_server import FakeOpenAIServer  # noqa: E402

# pyproject also puts tests/ on sys.path: make `import openai_server` the very same module,
# so Reply/Status/... from either name are recognised by the server.
sys.modules.setdefault("openai_server", _server_module)


@pytest.fixture
def openai_server():
    """A fresh fake endpoint per test, so slow handlers of one test never answer the next."""
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
