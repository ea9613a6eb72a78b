"""``spacekit spaces create``: the providers' own create options, declared once by each
plugin and read by both the library and the command line; and a description the
store cannot keep, treated alike by ``create`` and ``update``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from spacekit_instabase._emulator import InstabaseEmulator
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit._cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def emulators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[InstabaseEmulator, NeuroIOEmulator]]:
    ib, nio = InstabaseEmulator(), NeuroIOEmulator()
    with ib.serve() as ib_url, nio.serve() as nio_url:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[stores.ib]\nprovider = "instabase"\nbase_url = "{ib_url}"\ntoken = "env:IB_TOKEN"\n'
            f'[stores.nio]\nprovider = "neuroio"\nbase_url = "{nio_url}"\ntoken = "env:NIO_TOKEN"\n'
            f'[stores.local]\nprovider = "local"\npath = "{tmp_path / "s.db"}"\n'
        )
        monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
        monkeypatch.setenv("IB_TOKEN", ib.connect_settings("")["token"])
        monkeypatch.setenv("NIO_TOKEN", nio.token)
        yield ib, nio


def test_help_lists_every_providers_options() -> None:
    result = run("spaces", "create", "--help")
    assert result.exit_code == 0
    assert "--handle" in result.output and "(instabase only)" in result.output
    assert "--kind" in result.output and "--admins" not in result.output  # not expressible as text


def test_handle_reaches_instabase(emulators: tuple[InstabaseEmulator, NeuroIOEmulator]) -> None:
    ib, _ = emulators
    result = run(
        "spaces", "create", "Data Team", "-d", "models", "--handle", "data_eu", "--store", "ib", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "data_eu"
    posts = [r for r in ib.requests if r.method == "POST"]
    assert [(r.path, r.json()) for r in posts] == [
        ("/api/v1/organizations/data_eu", {"display_name": "Data Team", "description": "models"})
    ]


def test_the_derived_handle_error_is_answered_by_the_option(
    emulators: tuple[InstabaseEmulator, NeuroIOEmulator],
) -> None:
    ib, _ = emulators
    refused = run("spaces", "create", "é!", "--store", "ib")
    assert refused.exit_code == 2
    assert "--handle" in refused.stderr  # the message names the command line's way
    assert ib.requests == []
    assert run("spaces", "create", "é!", "--store", "ib", "--handle", "accents").exit_code == 0


def test_an_option_of_another_provider_is_refused_before_any_request(
    emulators: tuple[InstabaseEmulator, NeuroIOEmulator],
) -> None:
    _, nio = emulators
    result = run("spaces", "create", "x", "--handle", "h_1", "--store", "nio")
    assert result.exit_code == 2
    assert "--handle is not an option of the neuroio store (its create options: none)" in result.stderr
    assert nio.requests == []


def test_local_options_are_typed(emulators: tuple[InstabaseEmulator, NeuroIOEmulator]) -> None:
    result = run(
        "spaces", "create", "org", "--kind", "organization", "--owner", "bob", "--store", "local", "--json"
    )
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["kind"], json.loads(result.stdout)["owner"]) == ("organization", "bob")
    bad = run("spaces", "create", "org", "--kind", "planet", "--store", "local")
    assert bad.exit_code == 2 and "kind must be one of" in bad.stderr


def test_the_library_reads_the_same_declaration() -> None:
    with spacekit.connect("instabase", token="t0ken-value") as store:
        assert store.create_options["handle"].kind is str
        with pytest.raises(spacekit.ValidationError, match="'handle' must be a string"):
            store.create("x", handle=12345)
        with pytest.raises(spacekit.ValidationError, match="unknown option"):
            store.create("x", hnadle="typo")


def test_a_description_neuroio_cannot_keep_is_treated_alike_by_create_and_update(
    emulators: tuple[InstabaseEmulator, NeuroIOEmulator],
) -> None:
    _, nio = emulators
    created = run("spaces", "create", "described", "-d", "lost", "--store", "nio", "--json")
    assert created.exit_code == 0, created.output
    assert "Warning: the neuroio store keeps no description: it was left out" in created.stderr
    space_id = json.loads(created.stdout)["id"]
    updated = run("spaces", "update", space_id, "-d", "lost again", "--store", "nio")
    assert updated.exit_code == 0, updated.output
    assert "Warning: the neuroio store keeps no description: it was left out" in updated.stderr
    assert all(r.json() in (None, {"name": "described"}) for r in nio.requests)
    renamed = run("spaces", "update", space_id, "-n", "renamed", "-d", "x", "--store", "nio", "--json")
    assert renamed.exit_code == 0 and json.loads(renamed.stdout)["name"] == "renamed"
    assert nio.requests[-1].json() == {"name": "renamed"}


def test_subspaces_create_and_get(emulators: tuple[InstabaseEmulator, NeuroIOEmulator]) -> None:
    ib, nio = emulators
    made = run(
        "subspaces", "create", "alice", "models", "-d", "Notebooks", "--public", "--store", "ib", "--json"
    )
    assert made.exit_code == 0, made.output
    assert "created subspace alice/models" in made.stderr
    assert json.loads(made.stdout) == {
        "owner": "alice",
        "name": "models",
        "is_admin": None,
        "description": "Notebooks",
        "private": False,
        "members": [{"kind": "user", "name": "alice", "role": "admin"}],
    }
    post = next(r for r in ib.requests if r.method == "POST")
    assert post.body == b'{"description":"Notebooks","visibility":"public"}'
    shown = run("subspaces", "get", "alice", "models", "--store", "ib")
    assert shown.exit_code == 0 and "Notebooks" in shown.stdout and "member (admin)" in shown.stdout
    assert run("subspaces", "get", "alice", "nothing", "--store", "ib").exit_code == 3
    assert run("subspaces", "create", "alice", "models", "--store", "ib").exit_code == 5  # a conflict
    count = len(ib.requests)
    bad = run("subspaces", "create", "alice", "bad name", "--store", "ib")
    assert bad.exit_code == 2 and "letters, digits, underscores or hyphens" in bad.stderr
    assert len(ib.requests) == count
    unsupported = run("subspaces", "create", "1", "models", "--store", "nio")
    assert unsupported.exit_code == 2 and "cannot create or read subspaces" in unsupported.stderr
    assert nio.requests == []


def test_subspaces_in_the_local_store(emulators: tuple[InstabaseEmulator, NeuroIOEmulator]) -> None:
    space = json.loads(run("spaces", "create", "holder", "--store", "local", "--json").stdout)
    assert run("subspaces", "create", space["id"], "r1", "--store", "local").exit_code == 0
    got = run("subspaces", "get", space["id"], "r1", "--store", "local", "--json")
    assert json.loads(got.stdout)["private"] is True


def test_subspaces_list_names_each_subspace_of_a_space(
    emulators: tuple[InstabaseEmulator, NeuroIOEmulator],
) -> None:
    space = json.loads(run("spaces", "create", "lister", "--store", "local", "--json").stdout)
    for name in ("r1", "r2"):
        assert run("subspaces", "create", space["id"], name, "--store", "local").exit_code == 0
    listed = run("subspaces", "list", space["id"], "--store", "local")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0] == "OWNER\tNAME\tPRIVATE\tDESCRIPTION"
    assert [line.split("\t")[1] for line in lines[1:]] == ["r1", "r2"]
    as_json = json.loads(run("subspaces", "list", space["id"], "--store", "local", "--json").stdout)
    assert [s["name"] for s in as_json] == ["r1", "r2"]
    assert run("subspaces", "list", "999", "--store", "local").exit_code == 3


def test_a_subspace_says_what_the_store_did_not_tell(
    emulators: tuple[InstabaseEmulator, NeuroIOEmulator],
) -> None:
    made = run("subspaces", "create", "alice", "known", "--store", "ib")
    assert made.exit_code == 0, made.output
    assert "is_admin\tunknown (the store did not say)" in made.stdout.splitlines()
