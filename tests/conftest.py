"""Shared test harness: a real SQLite file and a real PostgreSQL for every storage test.

PostgreSQL comes from ``PRISM_TEST_POSTGRES_URL`` or is started here with ``pgserver``
(a throwaway server in a temporary folder). If neither works, the PostgreSQL half of
every test *errors*: a missing database is never a silent skip. The lake runs on a
folder and on S3: moto's standalone server, started here in its own process on loopback.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

# Every rich console the commands make gets one width, whichever test imports the CLI
# first and in whatever process (a worker's stdout is no terminal).
os.environ["COLUMNS"] = "160"

from prism.config import DatabaseSettings, LakeSettings, normalize_database_url
from prism.migrations import upgrade
from prism.storage.engine import Database, open_database
from prism.storage.lake import Lake, open_lake

BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Spare the garbage collector what lives for the whole run.

    After collection the process holds every imported library (botocore, Litestar,
    DuckDB, SQLAlchemy...) and every test item: hundreds of thousands of objects that each
    full collection used to walk again, and API tests make enough garbage to run many.
    Freezing them leaves them out of later collections; a larger young generation lets
    most short-lived objects die before they are promoted. Every object a test makes is
    still collected as before, so what the tests prove does not change.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(server_url: str, *statements: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(server_url))
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (``postgresql+asyncpg://``)."""
    given = os.environ.get("PRISM_TEST_POSTGRES_URL")
    if given:
        yield normalize_database_url(given)
        return
    try:
        import pgserver
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail("PostgreSQL is required: install pgserver or set PRISM_TEST_POSTGRES_URL")
    # A short path: PostgreSQL's unix socket path must fit in 107 bytes.
    folder = Path(f"/tmp/prism-pg-{os.getpid()}")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield normalize_database_url(server.get_uri())
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> str:
    """Name of a PostgreSQL database migrated to head, cloned for each test."""
    name = f"prism_template_{uuid.uuid4().hex[:8]}"
    _admin(postgres_server_url, f'CREATE DATABASE "{name}"')

    async def migrate() -> None:
        database = open_database(DatabaseSettings(url=_database_url(postgres_server_url, name), pool_size=1))
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "prism.db"

    async def migrate() -> None:
        database = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each storage test runs once per database."""
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new, empty database of the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'prism.db'}"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    name = f"prism_test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    yield _database_url(server, name)
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new database of the current backend, migrated to head."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "prism.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"prism_test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield _database_url(server, name)
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DemoDatabase = Callable[[float], str]


@pytest.fixture(scope="session")
def demo_templates() -> dict[tuple[str, float], str]:
    """Databases ``prism demo`` filled, by (backend, scale): the sources of ``demo_database``."""
    return {}


def _fill_with_demo(url: str, scale: float, data_dir: Path) -> None:
    from click.testing import CliRunner

    from prism.cli import main

    command = ["--data-dir", str(data_dir), "--database-url", url, "demo", "--scale", str(scale)]
    result = CliRunner().invoke(main, [*command, "--no-serve", "--no-market"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def demo_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, demo_templates: dict[tuple[str, float], str]
) -> Iterator[DemoDatabase]:
    """URLs of new databases of the current backend holding what ``prism demo --scale S`` makes.

    The demo runs once per backend and scale (a few seconds each time); each call gives
    the test its own copy. For tests where the demo is the setup, not the subject.
    """
    made: list[str] = []
    server = ""

    def copy(scale: float) -> str:
        nonlocal server
        key = (backend, scale)
        if backend == "sqlite":
            if key not in demo_templates:
                template = request.getfixturevalue("sqlite_template")
                folder = request.getfixturevalue("tmp_path_factory").mktemp("demo-template")
                shutil.copyfile(template, folder / "prism.db")
                _fill_with_demo(f"sqlite:///{folder / 'prism.db'}", scale, folder)
                demo_templates[key] = str(folder / "prism.db")
            path = tmp_path / f"demo-{len(made)}.db"
            shutil.copyfile(demo_templates[key], path)
            made.append(str(path))
            return f"sqlite:///{path}"
        server = request.getfixturevalue("postgres_server_url")
        if key not in demo_templates:
            name = f"prism_demo_{uuid.uuid4().hex[:8]}"
            _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("postgres_template")}"')
            folder = request.getfixturevalue("tmp_path_factory").mktemp("demo-template")
            _fill_with_demo(_database_url(server, name), scale, folder)
            demo_templates[key] = name
        name = f"prism_test_{uuid.uuid4().hex[:12]}"
        _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{demo_templates[key]}"')
        made.append(name)
        return _database_url(server, name)

    yield copy
    if server:
        for name in made:
            _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated database of the current backend."""
    database = open_database(DatabaseSettings(url=database_url, pool_size=2))
    yield database
    await database.dispose()


# --- the analytics lake: a local folder, and a real S3 endpoint on loopback ----------

LAKES = ["folder", "s3"]
S3_KEY, S3_SECRET = "prism-test-key", "prism-test-secret"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's standalone S3 server on a free loopback port, for the whole session.

    It runs in a process of its own (``python -m moto.server``), as a real endpoint would:
    serving S3 then takes the other core instead of the tests' interpreter lock, and the
    objects every test stores stay out of the tests' heap.
    """
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log = tmp_path_factory.mktemp("moto") / "server.log"  # every request is logged: not a pipe
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, log.read_text(errors="replace")[-2000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "moto's server did not start"
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def s3_lake_settings(endpoint: str) -> LakeSettings:
    """Settings of a new, empty lake in a fresh bucket on ``endpoint``."""
    import boto3

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )
    client.create_bucket(Bucket=bucket)
    return LakeSettings(
        url=f"s3://{bucket}/prism",
        s3_endpoint=endpoint,
        s3_access_key_id=S3_KEY,
        s3_secret_access_key=S3_SECRET,
    )


@pytest.fixture(params=LAKES)
def lake_kind(request: pytest.FixtureRequest) -> str:
    """Each lake test runs once on a folder and once on S3."""
    return str(request.param)


@pytest.fixture
def lake_settings(lake_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> LakeSettings:
    """Settings of a new, empty lake of the current kind."""
    if lake_kind == "folder":
        return LakeSettings(url=str(tmp_path / "lake"))
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return s3_lake_settings(endpoint)


@pytest.fixture
def lake(lake_settings: LakeSettings) -> Iterator[Lake]:
    """An open, empty lake of the current kind."""
    opened = open_lake(lake_settings)
    yield opened
    opened.close()
