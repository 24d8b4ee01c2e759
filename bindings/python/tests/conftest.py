"""Fixtures and suite rules: moto for the AWS tests (a failure, never a skip, when
moto_server is missing), and no test skipped or none run without failing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List

import pytest

from helpers import AWS_VARS, BUCKET, KeyServer, Moto, kek_file, start_moto


@pytest.fixture
def kek(tmp_path: Path) -> Path:
    """A KEK file (64 hex characters and a newline)."""
    return kek_file(tmp_path)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    saved = {k: os.environ.get(k) for k in AWS_VARS}
    m = start_moto()
    try:
        yield m
    finally:
        m.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    """moto, emptied, with the default bucket."""
    moto_server.reset()
    moto_server.create_bucket(BUCKET)
    return moto_server
@pytest.fixture
def keyserver(tmp_path: Path) -> Iterator[KeyServer]:
    """envector-keyserver on a free loopback port, for this test only."""
    srv = KeyServer(tmp_path / "keyserver")
    try:
        yield srv
    finally:
        srv.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # No test collected or run is a failure (pytest's exit 5), never a silent pass.
    if exitstatus == 5:
        session.exitstatus = 1


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    # Nothing here may be skipped silently: a skip marker is an error.
    for item in items:
        if item.get_closest_marker("skip") or item.get_closest_marker("skipif"):
            raise pytest.UsageError(f"{item.nodeid}: tests of this suite are never skipped")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and call.excinfo is not None and not hasattr(rep, "wasxfail"):
        # pytest.skip() inside a test: reported as a failure.
        rep.outcome = "failed"
        rep.longrepr = f"skipped at run time, which this suite does not allow: {call.excinfo.value}"
