"""The ``file`` store: spaces declared in a manifest file, read-only.

A manifest is how a team keeps its spaces under version control ("spaces as
code"): ``spacekit sync spaces.toml work --apply --delete`` makes the ``work``
store hold exactly the spaces the file declares. Two forms are read:

- TOML, a table per space (``name`` is required, the rest optional)::

      [[spaces]]
      name = "Research"
      description = "papers and data"
      kind = "organization"            # workspace (default), user or organization
      owner = "alice"
      image_url = "https://example.com/r.png"
      admins = [{ kind = "user", name = "alice" }]
      subspaces = [{ owner = "research", name = "papers" }]

- JSON Lines in the export format (``spacekit export``), one space per line, where
  only ``name`` is required; a ``.json`` file may also hold one JSON array of them
  (the output of ``spacekit spaces list --json``).

The form comes from the extension (``.toml``; ``.jsonl``; ``.json``) or the
``format`` setting. The file is read, and every entry checked, when the store is
opened: a bad entry or a name declared twice is a ``ValidationError`` naming the
line(s), before anything is listed. A space's id is its name, and its provider is
``file``. The store can list and get; every write raises ``Unsupported``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Final

import attrs

from ._errors import ConfigError, NotFound, ValidationError
from ._exchange import load_json
from ._input import read_regular
from ._model import Capability, Space, SpaceKind
from ._plugin import Plugin, Setting
from ._store import AsyncSpaceStore, SpaceStore
from ._validate import check_description, check_name

PROVIDER: Final = "file"
FORMATS: Final = {".toml": "toml", ".jsonl": "jsonl", ".json": "json"}
CAPABILITIES: Final = frozenset({Capability.LIST, Capability.SEARCH, Capability.GET})
#: what a TOML ``[[spaces]]`` table may hold
TOML_KEYS: Final = (
    "name",
    "description",
    "kind",
    "owner",
    "admins",
    "subspaces",
    "image_url",
    "renamed_from",
)
#: what the optional ``[manifest]`` table may hold
MANIFEST_KEYS: Final = ("name",)
_HEADER: Final = re.compile(r"^\s*\[\[\s*spaces\s*\]\]\s*(#.*)?$")
_NAME_KEY: Final = re.compile(r"^\s*(name|\"name\"|'name')\s*=")


@attrs.frozen
class Entry:
    """One declared space and the line it starts on (0 when unknown)."""

    space: Space
    line: int
    #: the names the space had before, first one first (``renamed_from``)
    renamed_from: tuple[str, ...] = ()


@attrs.frozen
class Manifest:
    """A manifest as read: its identity and its entries, checked, in file order."""

    path: str
    #: what journals know it by: its ``[manifest] name``, else its file name
    identity: str
    entries: tuple[Entry, ...]

    @property
    def renames(self) -> dict[str, tuple[str, ...]]:
        """Each renamed space's id (its name) -> the names it had before."""
        return {e.space.id: e.renamed_from for e in self.entries if e.renamed_from}


def read(path: str, form: str | None = None) -> list[Entry]:
    """Every space the manifest at ``path`` declares, checked, in file order."""
    return list(read_manifest(path, form).entries)


def read_manifest(path: str, form: str | None = None) -> Manifest:
    """The manifest at ``path``: its identity and every entry, checked."""
    form = form or FORMATS.get(os.path.splitext(path)[1].lower())
    if form not in FORMATS.values():
        known = ", ".join(FORMATS)
        raise ConfigError(f"{path}: a manifest's name must end in {known} (or give format=toml|jsonl|json)")
    if not os.path.lexists(path):
        raise ConfigError(f"no manifest at {path}")
    data = read_regular(path, None, f"the manifest {path}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    name = None
    if form == "toml":
        name, entries = _toml(text, path)
    elif form == "json" and text.lstrip().startswith("["):
        entries = _json_array(text, path)
    else:
        entries = _json_lines(text, path)
    _refuse_duplicates(entries, path)
    _refuse_rename_conflicts(entries, path)
    return Manifest(path, name or os.path.basename(path), tuple(entries))


def _toml(text: str, path: str) -> tuple[str | None, list[Entry]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ValidationError(f"{path}: not readable: arrays or tables nested too deep") from None
    except ValueError as exc:  # a whole number of thousands of digits
        raise ValidationError(f"{path}: not readable: {_reason(exc)}") from None
    unknown = sorted(set(document) - {"spaces", "manifest"})
    if unknown:
        raise ValidationError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; declare [[spaces]] (and [manifest])"
        )
    name = _manifest_name(document.get("manifest", {}), path)
    tables = document.get("spaces", [])
    if not isinstance(tables, list):
        raise ValidationError(f"{path}: 'spaces' must be an array of tables ([[spaces]])")
    lines = _table_lines(text, len(tables))
    entries, problems = [], []
    for number, (table, line) in enumerate(zip(tables, lines, strict=True), 1):
        where = f"line {line}" if line else f"space {number}"
        try:
            entries.append(_from_table(table, line))
        except ValidationError as exc:
            problems.append(f"{where}: {exc}")
    _raise(problems, path)
    return name, entries


def _manifest_name(table: Any, path: str) -> str | None:
    """The ``[manifest] name``, checked: a short line of text, or None."""
    if not isinstance(table, dict):
        raise ValidationError(f"{path}: 'manifest' must be a table ([manifest])")
    unknown = sorted(set(table) - set(MANIFEST_KEYS))
    if unknown:
        raise ValidationError(
            f"{path}: [manifest]: unknown key(s) {', '.join(unknown)} (known: {', '.join(MANIFEST_KEYS)})"
        )
    name = table.get("name")
    if name is not None and (
        not isinstance(name, str) or not name.strip() or len(name) > 200 or not name.isprintable()
    ):
        raise ValidationError(
            f"{path}: [manifest] name must be a non-empty line of text (up to 200 characters)"
        )
    return name


def _table_lines(text: str, count: int) -> list[int]:
    """The line of each ``[[spaces]]`` table's ``name`` (or of its header); zeros if the
    tables were written another way (an inline array)."""
    rows = text.splitlines()
    headers = [number for number, row in enumerate(rows, 1) if _HEADER.match(row)]
    if len(headers) != count:
        return [0] * count
    lines = []
    for i, header in enumerate(headers):
        end = headers[i + 1] - 1 if i + 1 < len(headers) else len(rows)
        named = (n for n in range(header + 1, end + 1) if _NAME_KEY.match(rows[n - 1]))
        lines.append(next(named, header))
    return lines


def _from_table(table: Any, line: int) -> Entry:
    if not isinstance(table, dict):
        raise ValidationError("each space must be a table")
    unknown = sorted(set(table) - set(TOML_KEYS))
    if unknown:
        raise ValidationError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(TOML_KEYS)})")
    data = dict(table)
    data["admins"] = [_principal(item) for item in _list(data, "admins")]
    data["subspaces"] = [_subspace(item) for item in _list(data, "subspaces")]
    return _entry(data, line)


def _entry(data: dict[str, Any], line: int) -> Entry:
    """A declared space and its former names, from a mapping (``renamed_from`` taken out)."""
    before = data.pop("renamed_from", None)
    if before is None:
        before = []
    elif isinstance(before, str):
        before = [before]
    if not isinstance(before, list) or not all(isinstance(n, str) for n in before):
        raise ValidationError("renamed_from must be a name or a list of names")
    for old in before:
        check_name(old)
    space = _space(data)
    return Entry(space, line, tuple(dict.fromkeys(n for n in before if n != space.name)))


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(f"{key} must be an array")
    return value


def _principal(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"kind": "user", "name": item}
    if isinstance(item, dict) and set(item) <= {"kind", "name"} and isinstance(item.get("name"), str):
        kind = item.get("kind", "user")
        if kind in ("user", "group"):
            return {"kind": kind, "name": item["name"]}
    raise ValidationError('an admin is a name or a table { kind = "user" or "group", name = "..." }')


def _subspace(item: Any) -> dict[str, Any]:
    if isinstance(item, str) and item.count("/") == 1 and all(item.split("/")):
        owner, name = item.split("/")
        return {"owner": owner, "name": name, "is_admin": None}
    allowed = {"owner", "name", "is_admin"}
    if (
        isinstance(item, dict)
        and set(item) <= allowed
        and isinstance(item.get("owner"), str)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("is_admin"), bool | None)
    ):
        return {"is_admin": None, **item}
    raise ValidationError('a subspace is "owner/name" or a table { owner = "...", name = "..." }')


def _space(data: Mapping[str, Any]) -> Space:
    """A declared space from a JSON-like mapping: its id is its name."""
    name = data.get("name")
    if name is None:
        raise ValidationError("name is required")
    check_name(name)
    check_description(data.get("description"))
    kind = data.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in {k.value for k in SpaceKind}):
        allowed = ", ".join(k.value for k in SpaceKind)
        shown = repr(kind)[:100] if isinstance(kind, str) else f"a {type(kind).__name__}"
        raise ValidationError(f"kind must be one of {allowed}, not {shown}", fields={"kind": "unknown kind"})
    fields = {k: v for k, v in data.items() if k not in ("provider", "id", "raw")}
    space = Space.from_dict({**fields, "provider": PROVIDER, "id": name})
    return attrs.evolve(space, raw={k: v for k, v in data.items() if k in TOML_KEYS})


def _json_lines(text: str, path: str) -> list[Entry]:
    entries, problems = [], []
    for number, row in enumerate(text.splitlines(), 1):
        if not row.strip():
            continue
        try:
            entries.append(_from_json(load_json(row), number))
        except ValidationError as exc:  # a ValueError too: caught first
            problems.append(f"line {number}: {exc}")
        except ValueError as exc:
            problems.append(f"line {number}: not valid JSON: {exc}")
    _raise(problems, path)
    return entries


def _json_array(text: str, path: str) -> list[Entry]:
    """A JSON array of spaces, each given the line its object starts on."""
    decoder = json.JSONDecoder()
    entries, problems = [], []
    at = text.index("[") + 1
    try:
        while True:
            at = _skip(text, at)
            if text.startswith("]", at):
                break
            line = text.count("\n", 0, at) + 1
            try:
                value, at = decoder.raw_decode(text, at)
            except RecursionError:
                raise ValidationError(f"{path}: not readable: nested too deep (line {line})") from None
            except json.JSONDecodeError:
                raise
            except ValueError as exc:  # a whole number of thousands of digits
                raise ValidationError(f"{path}: not readable: {_reason(exc)} (line {line})") from None
            try:
                entries.append(_from_json(value, line))
            except ValidationError as exc:
                problems.append(f"line {line}: {exc}")
            at = _skip(text, at)
            if text.startswith(",", at):
                at += 1
            elif not text.startswith("]", at):
                raise json.JSONDecodeError("expected ',' or ']'", text, at)
        if text[at + 1 :].strip():
            raise json.JSONDecodeError("extra data after the array", text, at + 1)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    _raise(problems, path)
    return entries


def _reason(error: ValueError) -> str:
    """What a parser's ``ValueError`` says, without the text it quotes."""
    return str(error).split(":")[0][:200]


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _from_json(value: Any, line: int) -> Entry:
    if not isinstance(value, dict):
        raise ValidationError(f"a space must be a JSON object, not {type(value).__name__}")
    return _entry(dict(value), line)


def _raise(problems: list[str], path: str) -> None:
    if problems:
        shown = problems[:20] + ([f"and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise ValidationError(
            f"{path}: {len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}:\n  "
            + "\n  ".join(shown)
        )


def _refuse_duplicates(entries: list[Entry], path: str) -> None:
    seen: dict[str, Entry] = {}
    for entry in entries:
        first = seen.setdefault(entry.space.name, entry)
        if first is not entry:
            raise ValidationError(
                f"{path}: the name {entry.space.name!r} is declared twice, on {_where(first, entries)} "
                f"and on {_where(entry, entries)}; names in a manifest must be unique",
                fields={"name": "duplicate"},
            )


def _refuse_rename_conflicts(entries: list[Entry], path: str) -> None:
    """Two entries claiming one old name, or an old name that another entry declares:
    refused, naming both lines, for either would make the rename ambiguous."""
    declared = {entry.space.name: entry for entry in entries}
    claimed: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        for old in entry.renamed_from:
            other = declared.get(old)
            if other is not None:
                problems.append(
                    f"{_where(entry, entries)}: renamed_from {old!r}, but {_where(other, entries)} "
                    f"declares a space named {old!r}"
                )
            first = claimed.setdefault(old, entry)
            if first is not entry:
                problems.append(
                    f"{_where(first, entries)} and {_where(entry, entries)} both say renamed_from {old!r}"
                )
    if problems:
        raise ValidationError(
            f"{path}: {'; '.join(problems)}; an old name may lead to one space only",
            fields={"renamed_from": "conflict"},
        )


def _where(entry: Entry, entries: list[Entry]) -> str:
    return f"line {entry.line}" if entry.line else f"space {entries.index(entry) + 1}"


class _Manifest:
    """What both manifest stores share: the spaces, read once when opened."""

    provider = PROVIDER
    capabilities = CAPABILITIES
    writable_fields: frozenset[str] = frozenset()

    def __init__(self, manifest: Manifest) -> None:
        self.location = manifest.path
        self.manifest = manifest
        self._spaces = {entry.space.name: entry.space for entry in manifest.entries}

    def _matching(self, query: str | None) -> list[Space]:
        return [s for s in self._spaces.values() if query is None or query.casefold() in s.name.casefold()]

    def _one(self, space_id: str) -> Space:
        try:
            return self._spaces[space_id]
        except KeyError:
            raise NotFound(
                f"{self.location} declares no space named {space_id!r}", provider=PROVIDER
            ) from None


class ManifestStore(_Manifest, SpaceStore):
    """A manifest, read-only."""

    def _list(self, query: str | None, options: Mapping[str, Any]) -> Iterator[Space]:
        return iter(self._matching(query))

    def _get(self, space_id: str) -> Space:
        return self._one(space_id)

    # Unreachable: the public methods refuse writes (Unsupported) before calling these.
    def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        raise AssertionError("a manifest is read-only")

    def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        raise AssertionError("a manifest is read-only")

    def _delete(self, space_id: str) -> None:
        raise AssertionError("a manifest is read-only")


class AsyncManifestStore(_Manifest, AsyncSpaceStore):
    """A manifest, read-only, behind the asynchronous interface."""

    async def _list(self, query: str | None, options: Mapping[str, Any]) -> AsyncIterator[Space]:
        for space in self._matching(query):
            yield space

    async def _get(self, space_id: str) -> Space:
        return self._one(space_id)

    async def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        raise AssertionError("a manifest is read-only")

    async def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        raise AssertionError("a manifest is read-only")

    async def _delete(self, space_id: str) -> None:
        raise AssertionError("a manifest is read-only")


class ManifestPlugin(Plugin):
    name = PROVIDER
    summary = "spaces declared in a TOML or JSON Lines manifest file (read-only)"
    capabilities = CAPABILITIES
    settings: Mapping[str, Setting] = {
        "path": Setting("path", str, required=True, help="the manifest file (~ expanded)"),
        "format": Setting("format", str, help="toml, jsonl or json; default: from the file's extension"),
    }

    def _read(self, settings: Mapping[str, Any]) -> Manifest:
        path = os.path.abspath(os.path.expanduser(settings["path"]))
        form = settings.get("format")
        if form is not None and form not in FORMATS.values():
            raise ConfigError(f"setting 'format' must be toml, jsonl or json, not {form!r}")
        return read_manifest(path, form)

    def open(self, settings: Mapping[str, Any]) -> ManifestStore:
        return ManifestStore(self._read(settings))

    def open_async(self, settings: Mapping[str, Any]) -> AsyncManifestStore:
        return AsyncManifestStore(self._read(settings))


file_plugin: Final = ManifestPlugin()


def manifest_of(store: object) -> Manifest | None:
    """The manifest a store reads, if it is a manifest store."""
    manifest = getattr(store, "manifest", None)
    return manifest if isinstance(manifest, Manifest) else None


def is_manifest_path(value: str) -> bool:
    """Whether a command-line SOURCE names a manifest file rather than a store."""
    return os.path.splitext(value)[1].lower() in FORMATS


# -- writing ------------------------------------------------------------------------


def to_toml(spaces: Iterator[Space] | list[Space]) -> Iterator[str]:
    """A TOML manifest of ``spaces``, table by table (the ``export --format toml`` form)."""
    yield "# spaces declared for spacekit: spacekit sync THIS_FILE STORE [--apply] [--delete]\n"
    for space in spaces:
        lines = ["", "[[spaces]]", f"name = {toml_string(space.name)}"]
        if space.description is not None:
            lines.append(f"description = {toml_string(space.description)}")
        if space.kind.value != "workspace":
            lines.append(f"kind = {toml_string(space.kind.value)}")
        for key in ("owner", "image_url"):
            value = getattr(space, key)
            if value is not None:
                lines.append(f"{key} = {toml_string(value)}")
        if space.admins:
            shown = ", ".join(
                f"{{ kind = {toml_string(p.kind)}, name = {toml_string(p.name)} }}" for p in space.admins
            )
            lines.append(f"admins = [{shown}]")
        if space.subspaces:
            shown = ", ".join(_subspace_toml(s.owner, s.name, s.is_admin) for s in space.subspaces)
            lines.append(f"subspaces = [{shown}]")
        yield "\n".join(lines) + "\n"


def _subspace_toml(owner: str, name: str, is_admin: bool | None) -> str:
    admin = "" if is_admin is None else f", is_admin = {'true' if is_admin else 'false'}"
    return f"{{ owner = {toml_string(owner)}, name = {toml_string(name)}{admin} }}"


_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
