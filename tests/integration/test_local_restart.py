"""`scimctl serve --data-dir`: what a developer does between code changes, with a real process.

Ctrl-C (SIGINT) and a restart lose nothing, the demo token included; `kill -9` loses at most the
last second of writes and leaves a store that loads; a file that is not a store is refused with
an error naming it; `--reset` starts empty (issue 13, part 2).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA, ScimHttp
from tests.integration.sigv4_client import ManagementHttp

START_TIMEOUT = 60


@dataclass
class Serve:
    process: subprocess.Popen[str]
    banner: str
    tenant_url: str

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    # Port 0: the gateway, moto's API and the management API each take a free port.
    return [sys.executable, "-m", "scimctl.cli", "serve", "--port", "0", "--data-dir", str(data_dir), *extra]


def start(workdir: Path, data_dir: Path, *extra: str) -> Serve:
    """`scimctl serve` as `make serve` runs it, until it has printed its banner."""
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        serve_command(data_dir, *extra),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Try:") or time.monotonic() > deadline:
            break
    banner = "".join(lines)
    tenant_url = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("Tenant URL:")), "")
    if not tenant_url:
        process.kill()
        raise AssertionError(f"no banner: {banner}{process.stderr.read() if process.stderr else ''}")
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    threading.Thread(target=lambda: [None for _ in process.stderr or ()], daemon=True).start()
    return Serve(process, banner, tenant_url)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def token_of(data_dir: Path) -> str:
    return (data_dir / "demo-token").read_text(encoding="utf-8").strip()


def create_user(client: ScimHttp, name: str) -> str:
    response = client.post("/Users", {"schemas": [USER_SCHEMA], "userName": name, "externalId": f"x-{name}"})
    assert response.status == 201, response.text
    return str(response.json["id"])


def user_names(client: ScimHttp) -> set[str]:
    response = client.get("/Users", params={"count": "1000", "attributes": "userName"})
    assert response.status == 200, response.text
    return {r["userName"] for r in response.json.get("Resources", [])}


def test_data_and_the_demo_token_survive_ctrl_c(workdir: Path) -> None:
    data_dir = workdir / "data"
    first = start(workdir, data_dir)
    token = token_of(data_dir)
    assert token in first.banner  # the first start prints it
    client = ScimHttp(first.tenant_url, token)
    alice = create_user(client, "alice@example.com")
    group = client.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Engineering"})
    assert group.status == 201, group.text
    added = client.patch(
        f"/Groups/{group.json['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": alice}]}],
        },
    )
    assert added.status in (200, 204), added.text
    deactivated = client.patch(
        f"/Users/{alice}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]},
    )
    assert deactivated.status == 200, deactivated.text
    assert first.stop(signal.SIGINT) == 0  # Ctrl-C right after the last write: nothing is lost

    second = start(workdir, data_dir)
    try:
        assert token_of(data_dir) == token
        assert token not in second.banner  # later starts say where it is instead
        assert f"the same as before, in {data_dir / 'demo-token'}" in second.banner
        client = ScimHttp(second.tenant_url, token)
        user = client.get(f"/Users/{alice}")
        assert user.status == 200, user.text
        assert user.json["active"] is False
        assert [g["value"] for g in user.json["groups"]] == [group.json["id"]]
        members = client.get(f"/Groups/{group.json['id']}").json["members"]
        assert [m["value"] for m in members] == [alice]
        # The name is still taken (its uniqueness guard was kept with the user).
        again = client.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ALICE@example.com"})
        assert again.status == 409, again.text
        audit = subprocess.run(  # noqa: S603 - our own CLI, against the running gateway
            [sys.executable, "-m", "scimctl.cli", "--json", "audit", "demo", "--user", alice],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        records = json.loads(audit.stdout)
        assert len(records) >= 2, audit.stdout  # the create and the deactivation, from before the restart
    finally:
        second.stop()


def test_kill_9_loses_at_most_the_last_second_and_the_store_loads(workdir: Path) -> None:
    data_dir = workdir / "data"
    first = start(workdir, data_dir)
    client = ScimHttp(first.tenant_url, token_of(data_dir))
    kept = {f"kept{n}@example.com" for n in range(20)}
    for name in sorted(kept):
        create_user(client, name)
    time.sleep(2.5)  # more than a flush interval: these are on disk
    stop = threading.Event()
    written: list[str] = []

    def burst() -> None:  # writes still going on when the process is killed
        n = 0
        while not stop.is_set():
            name = f"burst{n}@example.com"
            try:
                create_user(client, name)
            except (AssertionError, OSError):
                return
            written.append(name)
            n += 1

    writer = threading.Thread(target=burst)
    writer.start()
    time.sleep(1.5)
    first.process.kill()  # SIGKILL: no handler runs, nothing is flushed
    first.process.wait(timeout=30)
    stop.set()
    writer.join(timeout=60)
    assert written, "the burst wrote nothing before the kill"

    second = start(workdir, data_dir)
    try:
        names = user_names(ScimHttp(second.tenant_url, token_of(data_dir)))
        assert kept <= names
        assert names - kept <= set(written)  # nothing that was not written, no half-written user
    finally:
        second.stop()


def test_a_file_that_is_not_a_store_is_refused_with_its_name(workdir: Path) -> None:
    data_dir = workdir / "data"
    data_dir.mkdir()
    (data_dir / "store.sqlite3").write_bytes(b"this is not an SQLite database" * 100)
    result = subprocess.run(  # noqa: S603, PLW1510 - our own CLI; the exit code is what is tested
        serve_command(data_dir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 2
    assert f"{data_dir / 'store.sqlite3'} is not a readable scimctl store" in result.stderr
    assert "--reset" in result.stderr


def test_reset_starts_empty_with_a_new_token(workdir: Path) -> None:
    data_dir = workdir / "data"
    first = start(workdir, data_dir)
    old_token = token_of(data_dir)
    create_user(ScimHttp(first.tenant_url, old_token), "gone@example.com")
    assert first.stop() == 0

    second = start(workdir, data_dir, "--reset")
    try:
        new_token = token_of(data_dir)
        assert new_token != old_token
        assert new_token in second.banner
        assert user_names(ScimHttp(second.tenant_url, new_token)) == set()
        assert ScimHttp(second.tenant_url, old_token).get("/Users").status == 401
    finally:
        second.stop()


def feed_of(serve: Serve, tenant: str = "demo") -> list[dict[str, Any]]:
    """Every event of the tenant's feed, through the management API that serve printed."""
    url = next(
        ln.split(":", 1)[1].strip() for ln in serve.banner.splitlines() if ln.startswith("Management API:")
    )
    api = ManagementHttp(url)
    events: list[dict[str, Any]] = []
    after = ""
    while True:
        page = api.get(f"/tenants/{tenant}/events?limit=200" + (f"&after={after}" if after else ""))
        assert page.status == 200, page.text
        if not page.json["data"]:
            return events
        events.extend(page.json["data"])
        after = page.json["next_cursor"]


def test_the_event_feed_survives_a_restart_and_numbering_continues(workdir: Path) -> None:
    data_dir = workdir / "data"
    first = start(workdir, data_dir)
    client = ScimHttp(first.tenant_url, token_of(data_dir))
    create_user(client, "feed1@example.com")
    create_user(client, "feed2@example.com")
    before = feed_of(first)
    assert first.stop(signal.SIGINT) == 0

    second = start(workdir, data_dir)
    try:
        assert feed_of(second) == before  # the journal is table items: kept in the store
        create_user(ScimHttp(second.tenant_url, token_of(data_dir)), "feed3@example.com")
        after = feed_of(second)
        assert after[: len(before)] == before
        assert [e["sequence"] for e in after] == list(range(1, len(after) + 1))
        assert after[-1]["data"]["resource"]["userName"] == "feed3@example.com"
    finally:
        second.stop()
