"""The ``spacekit manifest`` commands: ``check`` a manifest offline, print its ``schema``.

``check FILE...`` reads each manifest as every command does (names declared twice,
unknown keys, ``renamed_from`` conflicts, bad values: each named with its line) and,
with ``--for PROVIDER``, creates each declared space in an in-process emulator of
that provider, as a sync would, so that a name the provider refuses, or two names it
would store as one, are found before a sync runs. Nothing leaves the machine. Exit 0
when every manifest is good, 2 when one is not: a pre-commit hook's contract (the
hook passes the staged manifests' paths).

``schema`` prints a JSON Schema (draft 2020-12) of the TOML form as parsed into JSON,
for editors: ``#:schema ./spaces.schema.json`` on a TOML file's first line.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Final

import click

from . import _registry
from ._connect import connect
from ._errors import ConfigError, SpacekitError, ValidationError
from ._manifest import Manifest, read_manifest
from ._migrate._plan import create_arguments
from ._model import SpaceKind
from ._store import SpaceStore
from ._validate import MAX_NAME

SCHEMA_ID: Final = "https://spacekit.dev/schemas/manifest.json"


def schema() -> dict[str, Any]:
    """The JSON Schema of a TOML manifest (as parsed into JSON)."""
    name = {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": r"\S"}
    names = {"oneOf": [name, {"type": "array", "items": name}]}
    principal = {
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {"kind": {"enum": ["user", "group"]}, "name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": False,
            },
        ]
    }
    subspace = {
        "oneOf": [
            {"type": "string", "pattern": "^[^/]+/[^/]+$"},
            {
                "type": "object",
                "properties": {
                    "owner": {"type": "string"},
                    "name": {"type": "string"},
                    "is_admin": {"type": "boolean"},
                },
                "required": ["owner", "name"],
                "additionalProperties": False,
            },
        ]
    }
    space = {
        "type": "object",
        "properties": {
            "name": {**name, "description": "the space's name: unique in the manifest, and its id"},
            "description": {"type": "string"},
            "kind": {"enum": [kind.value for kind in SpaceKind], "default": "workspace"},
            "owner": {"type": "string"},
            "image_url": {"type": "string"},
            "admins": {"type": "array", "items": principal},
            "subspaces": {"type": "array", "items": subspace},
            "renamed_from": {
                **names,
                "description": "the names the space had before: the target space bearing one is renamed",
            },
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "spacekit manifest",
        "description": "spaces declared for spacekit: spacekit sync THIS_FILE STORE",
        "type": "object",
        "properties": {
            "manifest": {
                "type": "object",
                "properties": {"name": {**name, "maxLength": 200}},
                "additionalProperties": False,
            },
            "spaces": {"type": "array", "items": space},
        },
        "additionalProperties": False,
    }


def check_for(manifest: Manifest, provider: str) -> list[str]:
    """What ``provider`` would refuse: each space created, as a sync creates it, in an
    in-process emulator of the provider (or a memory store for ``memory``/``local``)."""
    plugin = _registry.load(provider)
    if provider in ("memory", "local"):
        store: SpaceStore = connect("memory")
    else:
        from .testing import Emulator  # the seam only knows an emulator's protocol

        emulator = plugin.emulator()
        if not isinstance(emulator, Emulator):
            raise ConfigError(f"no offline check for {provider}: its plugin has no emulator")
        store = emulator.connect(retries=0, deadline=5.0)
    problems = []
    stored: dict[str, str] = {}
    with store:
        for entry in manifest.entries:
            where = f"line {entry.line}" if entry.line else f"space {entry.space.name!r}"
            form = store.stored_name(entry.space.name)
            first = stored.setdefault(form, where)
            if first != where:
                problems.append(
                    f"{where}: {entry.space.name!r} is stored by {provider} as {form!r}, as is the "
                    f"name on {first}"
                )
                continue
            description, options = create_arguments(entry.space, store)
            try:
                store.create(entry.space.name, description, **options)
            except SpacekitError as exc:
                problems.append(f"{where}: {provider} refuses {entry.space.name!r}: {exc}")
    return problems


@click.group("manifest")
def command() -> None:
    """Check a manifest offline, or print the JSON Schema of its TOML form."""


@command.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="FILE...")
@click.option(
    "--for",
    "provider",
    metavar="PROVIDER",
    help="also check what this provider would refuse (offline, against its emulator)",
)
def check(files: tuple[str, ...], provider: str | None) -> None:
    """Validate each manifest FILE: exit 0 if all are good, 2 (naming each problem) if not."""
    bad = []
    for file in files:
        try:
            manifest = read_manifest(file)
            if provider is not None:
                _for_provider(file, manifest, provider)
        except ValidationError as exc:
            click.echo(f"Error: {exc}", err=True)
            bad.append(file)
            continue
        target = f" for {provider}" if provider else ""
        click.echo(f"{file}: {len(manifest.entries)} space(s), manifest {manifest.identity!r}: ok{target}")
    if bad:
        raise ValidationError(f"{len(bad)} of {len(files)} manifest(s) have problems: {', '.join(bad)}")


def _for_provider(file: str, manifest: Manifest, provider: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a description the provider cannot keep is no error
        problems = check_for(manifest, provider)
    if problems:
        raise ValidationError(
            f"{file}: {len(problems)} problem(s) for {provider}:\n  " + "\n  ".join(problems)
        )


@command.command("schema")
def print_schema() -> None:
    """Print the JSON Schema of a TOML manifest (for editors: a #:schema line)."""
    click.echo(json.dumps(schema(), indent=2))
