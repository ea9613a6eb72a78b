"""The run lock (``spacekit._migrate._lock``): one lock per target however it is
spelled, meeting across processes and sessions, in a folder no one else controls."""

from __future__ import annotations

import collections
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from migrate_helpers import emulator
from test_migrate_adversarial import hold_creates, served_pair  # noqa: F401 (a fixture)

import spacekit
from spacekit._migrate import _lock, migrate
from spacekit._migrate._lock import lock_folders, lock_key
from spacekit._migrate._stores import canonical_url, identity

# -- one key per target -------------------------------------------------------------------

SAME = [
    ("http://localhost:8000", "HTTP://localhost:8000"),
    ("http://localhost:8000", "http://LOCALHOST:8000"),
    ("http://127.0.0.1:8000", "http://localhost:8000"),
    ("http://[::1]:8000", "http://localhost:8000"),
    ("http://[::ffff:127.0.0.1]:8000", "http://127.0.0.1:8000"),
    ("http://127.1:8000", "http://127.0.0.1:8000"),
    ("http://0.0.0.0:8000", "http://127.0.0.1:8000"),  # the unspecified address reaches this machine
    ("http://[::]:8000", "http://localhost:8000"),
    ("http://localhost", "http://localhost:80"),
    ("https://api.example.com", "https://API.Example.com:443"),
    ("https://api.example.com", "https://api.example.com."),
    ("https://api.example.com/v1", "https://api.example.com/v1/"),
    ("https://api.example.com/v1", "https://api.example.com//v1"),
    ("https://api.example.com/v1", "https://api.example.com/x/../v1"),
    ("https://api.example.com/v1", "https://api.example.com/./v1"),
    ("https://api.example.com/~v1", "https://api.example.com/%7Ev1"),
    ("https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"),
]
DIFFERENT = [
    ("https://api.example.com", "https://api.example.org"),
    ("https://api.example.com", "http://api.example.com"),
    ("https://api.example.com", "https://api.example.com:8443"),
    ("https://api.example.com/v1", "https://api.example.com/v2"),
    ("https://api.example.com/a/b", "https://api.example.com/a%2Fb"),
    ("http://localhost:8000", "http://localhost:8001"),
    ("http://10.0.0.1:8000", "http://localhost:8000"),
]


@pytest.mark.parametrize(("one", "other"), SAME)
def test_spellings_of_one_url_are_one_target(one: str, other: str):
    assert canonical_url(one) == canonical_url(other)
    store = spacekit.connect("neuroio", base_url=one, token="tok", allow_insecure_http=True)
    spelled = spacekit.connect("neuroio", base_url=other, token="tok", allow_insecure_http=True)
    assert lock_key(store) == lock_key(spelled)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_other_urls_are_other_targets(one: str, other: str):
    assert canonical_url(one) != canonical_url(other)


def test_another_account_at_one_url_is_another_target():
    store = spacekit.connect("neuroio", base_url="http://localhost:8000", token="one")
    other = spacekit.connect("neuroio", base_url="http://localhost:8000", token="two")
    assert lock_key(store) != lock_key(other)


def test_a_local_store_is_one_target_by_any_path(tmp_path: Path):
    real = tmp_path / "real" / "t.db"
    real.parent.mkdir()
    link = tmp_path / "link.db"
    with spacekit.connect("local", path=str(real)) as store:
        link.symlink_to(real)
        folder_link = tmp_path / "folder"
        folder_link.symlink_to(real.parent)
        keys = {lock_key(store)}
        for path in (link, folder_link / "t.db", tmp_path / "real" / ".." / "real" / "t.db"):
            with spacekit.connect("local", path=str(path)) as spelled:
                keys.add(lock_key(spelled))
        with spacekit.connect("local", path=str(tmp_path / "other.db")) as other:
            assert lock_key(other) not in keys
    assert len(keys) == 1


def test_two_api_keys_of_one_datablist_account_are_one_target():
    """The account the token exchange names joins the key, not the credential."""
    emu = emulator("datablist")
    user = emu.api_keys[emu.api_key]
    emu.api_keys["second-key-of-the-same-user"] = user
    emu.api_keys["key-of-another-user"] = "auth0|another"
    first = emu.connect()
    second = emu.connect(api_key="second-key-of-the-same-user")
    stranger = emu.connect(api_key="key-of-another-user")
    assert lock_key(first) == lock_key(second) != lock_key(stranger)
    assert lock_key(first) == lock_key(first)  # a token already held: no other exchange needed
    assert [r.path for r in emu.requests] == ["/token"] * 3


@pytest.mark.parametrize("named", [None, "", "  ", {"id": 1}, ["acc"], True, 1.5])
def test_an_exchange_naming_no_account_leaves_the_credentials_in_the_key(named: object):
    emu = emulator("datablist")
    user = emu.api_keys[emu.api_key]
    emu.api_keys["second-key-of-the-same-user"] = user
    exchange = emu.dispatch

    def answered(request: httpx.Request) -> httpx.Response:
        response = exchange(request)
        if request.url.path != "/token":
            return response
        return httpx.Response(200, json={**json.loads(response.content), "account_id": named})

    emu.dispatch = answered
    first, second = emu.connect(), emu.connect(api_key="second-key-of-the-same-user")
    assert lock_key(first) != lock_key(second)


def test_the_key_shows_neither_the_credential_nor_the_account():
    emu = emulator("datablist")
    store = emu.connect()
    key = lock_key(store)
    assert emu.api_key not in key and "acc-" not in key


def test_a_store_spelled_otherwise_is_still_not_migrated_onto_itself(tmp_path: Path):
    neuroio = emulator("neuroio")
    with neuroio.serve() as url:  # http://127.0.0.1:PORT
        token = neuroio.connect_settings(url)["token"]
        source = spacekit.connect("neuroio", base_url=url, token=token)
        target = spacekit.connect("neuroio", base_url=spelled(url, host="LOCALHOST", slash=True), token=token)
        with pytest.raises(spacekit.ValidationError, match="same store"):
            migrate(source, target)
    (tmp_path / "link.db").symlink_to(tmp_path / "t.db")
    local = spacekit.connect("local", path=str(tmp_path / "t.db"))
    with pytest.raises(spacekit.ValidationError, match="same store"):
        migrate(local, spacekit.connect("local", path=str(tmp_path / "link.db")))
    assert neuroio.requests == []


def test_a_journal_resumes_with_the_target_spelled_otherwise(tmp_path: Path):
    neuroio = emulator("neuroio")
    source = spacekit.connect("memory")
    source.create("alpha")
    with neuroio.serve() as url:
        settings = neuroio.connect_settings(url)
        with spacekit.connect("neuroio", **settings) as target:
            assert migrate(source, target, journal=tmp_path / "j.db").ok
        other = {**settings, "base_url": spelled(url, scheme="HTTP", host="localhost")}
        with spacekit.connect("neuroio", **other) as target:
            assert migrate(source, target, journal=tmp_path / "j.db").counts["skipped"] == 1
        elsewhere = {**settings, "base_url": url + "/elsewhere"}
        target = spacekit.connect("neuroio", **elsewhere)
        with pytest.raises(spacekit.ConfigError, match="belongs to a migration"):
            migrate(source, target, journal=tmp_path / "j.db")


# -- two processes, two spellings ---------------------------------------------------------

_HOLDER = """
import json, sys, spacekit
from spacekit._migrate._lock import held
from spacekit._migrate._stores import identity
provider, settings = json.loads(sys.argv[1])
with spacekit.connect(provider, **settings) as store, held(store, identity(store), "holder.db"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holding(provider: str, settings: dict[str, Any], env: dict[str, str] | None = None) -> Iterator[None]:
    """Another process holding the lock of the target ``provider`` + ``settings`` open."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, json.dumps([provider, settings])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or dict(os.environ),
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line == "held\n", holder.stderr.read() if holder.stderr else line
        yield
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0


def spelled(url: str, *, host: str | None = None, scheme: str | None = None, slash: bool = False) -> str:
    scheme_part, _, rest = url.partition("://")
    address, port = rest.split(":")
    return f"{scheme or scheme_part}://{host or address}:{port}" + ("/" if slash else "")


def refused(run: Callable[[], object]) -> None:
    with pytest.raises(spacekit.ConfigError, match=r"another run \(a migrate or a sync\)"):
        run()


SPELLINGS = {
    "HTTP://": {"scheme": "HTTP"},
    "LOCALHOST": {"host": "LOCALHOST"},
    "localhost": {"host": "localhost"},
    "[::1]": {"host": "[::1]"},
    "a trailing slash": {"slash": True},
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_run_into_a_target_spelled_otherwise_is_refused_while_one_runs(spelling: str):
    neuroio = emulator("neuroio")
    source = spacekit.connect("memory")
    source.create("alpha")
    with neuroio.serve() as url:  # http://127.0.0.1:PORT
        settings = neuroio.connect_settings(url)
        with holding("neuroio", settings):
            other = {**settings, "base_url": spelled(url, **SPELLINGS[spelling])}
            with (
                spacekit.connect("neuroio", **other) as target,
                pytest.raises(
                    spacekit.ConfigError,
                    match=r"another run \(a migrate or a sync\) into .* is running on this machine",
                ) as refused,
            ):
                migrate(source, target)
    assert "holder.db" in str(refused.value)
    assert [r for r in neuroio.requests if r.method != "GET"] == []


def test_a_default_port_written_out_is_the_same_target():
    settings = {"base_url": "https://api.example.com", "token": "tok"}
    spelled = spacekit.connect("neuroio", base_url="https://API.example.com:443/", token="tok")
    with holding("neuroio", settings):
        refused(lambda: _lock.held(spelled, identity(spelled), None).__enter__())


def test_a_run_into_a_local_store_by_a_symlink_is_refused_while_one_runs(tmp_path: Path):
    real, link = tmp_path / "t.db", tmp_path / "link.db"
    spacekit.connect("local", path=str(real)).close()
    link.symlink_to(real)
    source = spacekit.connect("memory")
    source.create("alpha")
    with holding("local", {"path": str(real)}), spacekit.connect("local", path=str(link)) as target:
        with pytest.raises(spacekit.ConfigError, match=r"another run \(a migrate or a sync\)"):
            migrate(source, target)
        assert list(target.list()) == []


def test_a_session_variable_does_not_move_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A cron job (no XDG_RUNTIME_DIR, no XDG_CACHE_HOME) meets a login shell (both set)."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    login = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CACHE_HOME": str(tmp_path / "c")}
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    target_path = tmp_path / "t.db"
    source = spacekit.connect("memory")
    source.create("alpha")
    target = spacekit.connect("local", path=str(target_path))
    with holding("local", {"path": str(target_path)}, env=login):
        refused(lambda: migrate(source, target))
    assert not list(runtime.rglob("*.lock"))
    assert lock_folders()[0] == os.path.join(os.environ["HOME"], ".cache", "spacekit", "locks")


# -- where the lock lives ---------------------------------------------------------------


@pytest.fixture
def no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder that cannot be written (a read-only HOME); /tmp is ``tmp_path/tmp``."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("HOME", str(home))
    temp = tmp_path / "tmp"
    temp.mkdir()
    temp.chmod(0o1777)
    monkeypatch.setattr(_lock, "_temp_root", lambda: str(temp))
    return temp


def a_local_run(tmp_path: Path) -> spacekit.MigrationReport:
    source = spacekit.connect("memory")
    source.create("alpha")
    with spacekit.connect("local", path=str(tmp_path / "t.db")) as target:
        return migrate(source, target)


def test_the_lock_falls_back_to_a_private_folder_in_the_temporary_folder(tmp_path: Path, no_cache: Path):
    assert a_local_run(tmp_path).ok
    folder = no_cache / f"spacekit-{os.geteuid()}"
    assert stat.S_IMODE(folder.lstat().st_mode) == 0o700 and folder.lstat().st_uid == os.geteuid()
    (lock,) = folder.glob("*.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def planted_symlink(folder: Path, victim: Path, tmp_path: Path) -> None:
    """A lock file in ``folder`` for the target of ``a_local_run``, symlinked to ``victim``."""
    with spacekit.connect("local", path=str(tmp_path / "t.db")) as target:
        name = f"{lock_key(target)}.lock"
    (folder / name).symlink_to(victim)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("precious")
    return path


def test_a_planted_folder_of_another_user_is_refused_and_its_symlink_not_followed(
    tmp_path: Path, no_cache: Path, victim: Path
):
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root (the writable-by-others case runs anyway)")
    folder = no_cache / f"spacekit-{os.geteuid()}"
    folder.mkdir(mode=0o700)
    planted_symlink(folder, victim, tmp_path)
    os.chown(folder, 4242, 4242)
    with pytest.raises(spacekit.ConfigError, match=r"belongs to another user.*SPACEKIT_LOCK_DIR"):
        a_local_run(tmp_path)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o750, 0o705])
def test_a_planted_folder_others_may_use_is_refused(tmp_path: Path, no_cache: Path, victim: Path, mode: int):
    folder = no_cache / f"spacekit-{os.geteuid()}"
    folder.mkdir()
    folder.chmod(mode)
    planted_symlink(folder, victim, tmp_path)
    with pytest.raises(spacekit.ConfigError, match=r"others may use it .*SPACEKIT_LOCK_DIR"):
        a_local_run(tmp_path)
    assert victim.read_text() == "precious"
    assert not (tmp_path / "t.db").exists() or a_count(tmp_path / "t.db") == 0


def a_count(path: Path) -> int:
    with spacekit.connect("local", path=str(path)) as store:
        return len(list(store.list()))


def test_a_planted_symlink_in_place_of_the_folder_is_refused(tmp_path: Path, no_cache: Path, victim: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    planted_symlink(elsewhere, victim, tmp_path)
    (no_cache / f"spacekit-{os.geteuid()}").symlink_to(elsewhere)
    with pytest.raises(spacekit.ConfigError, match=r"it is a symlink.*SPACEKIT_LOCK_DIR"):
        a_local_run(tmp_path)
    assert victim.read_text() == "precious"


def test_a_symlink_in_place_of_the_lock_file_is_not_followed(tmp_path: Path, victim: Path):
    assert a_local_run(tmp_path).ok  # makes the cache folder
    (folder,) = {str(p.parent) for p in Path(os.environ["HOME"]).rglob("*.lock")}
    for lock in Path(folder).glob("*.lock"):
        lock.unlink()
    planted_symlink(Path(folder), victim, tmp_path)
    with pytest.raises(spacekit.ConfigError, match=r"is a symlink.*SPACEKIT_LOCK_DIR"):
        a_local_run(tmp_path)
    assert victim.read_text() == "precious"


def test_a_cache_folder_others_may_write_in_is_refused(tmp_path: Path):
    folder = Path(lock_folders()[0])
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    with pytest.raises(spacekit.ConfigError, match=r"others may write in it"):
        a_local_run(tmp_path)


def test_the_lock_folder_can_be_chosen(tmp_path: Path, no_cache: Path, monkeypatch: pytest.MonkeyPatch):
    chosen = tmp_path / "locks"
    monkeypatch.setenv("SPACEKIT_LOCK_DIR", str(chosen))
    assert a_local_run(tmp_path).ok
    assert list(chosen.glob("*.lock")) and not list(no_cache.iterdir())
    chosen.chmod(0o777)
    with pytest.raises(spacekit.ConfigError, match=f"lock folder {chosen} is not safe"):
        a_local_run(tmp_path)


def test_the_cli_refuses_a_planted_folder_with_exit_2(tmp_path: Path, no_cache: Path, victim: Path):
    from spacekit._migrate._cli import migrate as command

    folder = no_cache / f"spacekit-{os.geteuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    planted_symlink(folder, victim, tmp_path)
    spacekit.connect("local", path=str(tmp_path / "s.db")).close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[stores.a]\nprovider = "local"\npath = "{tmp_path / "s.db"}"\n'
        f'[stores.b]\nprovider = "local"\npath = "{tmp_path / "t.db"}"\n'
    )
    config.chmod(0o600)
    result = CliRunner().invoke(command, ["a", "b"], env={"SPACEKIT_CONFIG": str(config)})
    assert result.exit_code == 2, result.output
    assert "SPACEKIT_LOCK_DIR" in result.stderr
    assert victim.read_text() == "precious"


def test_two_cli_runs_into_one_target_spelled_otherwise_from_two_sessions_duplicate_nothing(
    request: pytest.FixtureRequest, tmp_path: Path
):
    """A login shell (XDG_RUNTIME_DIR set) runs into the target by its URL; a cron job
    (no XDG_RUNTIME_DIR) runs into it spelled HTTP://LOCALHOST:PORT/ meanwhile."""
    neuroio, env = request.getfixturevalue("served_pair")
    config = Path(env["SPACEKIT_CONFIG"])
    url = next(line for line in config.read_text().splitlines() if line.startswith("base_url"))
    config.write_text(
        config.read_text()
        + '[stores.cron]\nprovider = "neuroio"\n'
        + url.replace("http://127.0.0.1", "HTTP://LOCALHOST").rstrip('"')
        + '/"\n'
        + f'token = "{neuroio.connect_settings("")["token"]}"\n'
    )
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    login = {**env, "XDG_RUNTIME_DIR": str(runtime)}
    cron = {k: v for k, v in env.items() if k != "XDG_RUNTIME_DIR"}
    writing, release = hold_creates(neuroio, 20)
    base = [sys.executable, "-m", "spacekit", "migrate", "src"]
    first = subprocess.Popen(
        [*base, "nio", "--journal", str(tmp_path / "a.db")],
        env=login,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writing.wait(20), "the first run never started writing"
        second = subprocess.run(
            [*base, "cron", "--journal", str(tmp_path / "b.db")],
            env=cron,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        release.set()
    _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stderr
    assert f"pid {first.pid}" in second.stderr
    listed = collections.Counter(space.name for space in neuroio.connect().list())
    assert listed == collections.Counter(["default", *(f"space-{i:02d}" for i in range(40))])
