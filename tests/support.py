"""Constants and small helpers shared by test modules (fixtures live in conftest.py)."""
import os
from pathlib import Path

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
SHARED_DATA = Path(os.environ.get("CLASSROOM_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))
PASSWORD = "correct-horse-battery"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def login(client, user, password=PASSWORD):
    resp = client.post("/login", data={"email": user.email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client
