"""The public API is exactly what ``__all__`` says, and importing it loads no plugin."""

from __future__ import annotations

import subprocess
import sys

import spacekit
import spacekit.plugin
import spacekit.testing

CONTRACT = {
    "connect", "connect_async", "SpaceStore", "AsyncSpaceStore", "Space", "SpaceKind", "Principal",
    "Subspace", "Capability", "SpaceToken", "SpacekitError", "ConfigError", "Unsupported",
    "ValidationError", "ProviderError", "AuthenticationError", "PermissionDenied", "NotFound",
    "Conflict", "RateLimited", "ProviderUnavailable", "ProtocolError", "migrate", "verify",
}  # fmt: skip


def _public(module: object) -> set[str]:
    return {name for name in vars(module) if not name.startswith("_") and not _is_submodule(module, name)}


def _is_submodule(module: object, name: str) -> bool:
    return type(getattr(module, name)).__name__ == "module"


def test_all_matches_the_public_names() -> None:
    for module in (spacekit, spacekit.plugin, spacekit.testing):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
        typing_names = {"TYPE_CHECKING", "Any"}
        assert _public(module) - typing_names <= set(module.__all__), module.__name__


def test_the_design_contract_is_exported() -> None:
    assert set(spacekit.__all__) >= CONTRACT


def test_every_error_is_a_spacekit_error() -> None:
    for name in spacekit.__all__:
        obj = getattr(spacekit, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, spacekit.SpacekitError)


def test_importing_spacekit_imports_no_plugin_and_no_cli() -> None:
    code = (
        "import sys, spacekit; "
        "bad = [m for m in sys.modules if m.startswith(('spacekit_', 'click', 'rich', 'httpx', 'spacekit.testing'))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
