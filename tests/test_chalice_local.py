"""The same app under `chalice local`, Chalice's own development server, as a subprocess."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, PUBLISHED, REPO, ApiProject
from serve_process import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def chalice_local(api_project: ApiProject) -> Iterator[int]:
    port = free_port()
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "NAILFOLIO_ROOT": str(api_project.root),
        "NAILFOLIO_RATE_LIMIT_SCALE": "1000",
    }
    chalice = str(Path(sys.executable).with_name("chalice"))  # the console script; no __main__
    command = [chalice, "local", "--stage", "local", "--port", str(port), "--no-autoreload"]
    server = subprocess.Popen(
        command,
        cwd=REPO / "chalice_app",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so the whole group can be stopped
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the whole group: no server outlives the test
        server.wait(10)
        server.stderr.close()


def _request(port: int, method: str, path: str, body: object = None, cookie: str = ""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} | ({"Cookie": cookie} if cookie else {})
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response, payload


def test_chalice_local_serves_the_same_app(chalice_local: int, api_project: ApiProject) -> None:
    health, body = _request(chalice_local, "GET", "/api/health")
    stores = dict.fromkeys(("identity", "comments", "ratelimit", "catalog", "signing_key"), "ok")
    assert (health.status, json.loads(body)) == (200, {"status": "ok", "stores": stores})

    credentials = {"email": "cleo@example.com", "password": PASSWORD}
    signed_up, _ = _request(chalice_local, "POST", "/api/auth/signup", credentials)
    assert signed_up.status == 201
    cookie = signed_up.getheader("Set-Cookie").split(";")[0]

    path = f"/api/designs/{PUBLISHED}/comments"
    posted, body = _request(chalice_local, "POST", path, {"text": "Gorgeous!"}, cookie)
    assert posted.status == 201, body
    assert json.loads(body)["comment"]["text"] == "Gorgeous!"

    forbidden, _ = _request(chalice_local, "GET", "/api/admin/comments", cookie=cookie)
    assert forbidden.status == 403
    stored = Path(api_project.settings.comments_path)
    assert stored.is_file()
