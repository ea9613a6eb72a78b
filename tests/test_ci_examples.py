"""The CI example workflow and the pre-commit hook, run as CI and pre-commit would run
them (their shell steps, the console script) against an emulator served on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from migrate_helpers import ROOT, emulator, mutating

from spacekit.testing import Emulator

WORKFLOW = ROOT / "examples" / "ci" / "spaces.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
MANIFEST = '[manifest]\nname = "platform-spaces"\n\n[[spaces]]\nname = "Project Four"\nrenamed_from = "Project 04"\n\n[[spaces]]\nname = "Ops"\n'


def steps() -> dict[str, str]:
    """Each named ``run:`` step of the workflow, by name."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return {
        step["name"]: step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "run" in step and "name" in step
    }


@pytest.fixture
def ci(tmp_path: Path) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """A Datablist emulator on loopback, and the environment a CI runner would give the steps."""
    datablist = emulator("datablist")
    with datablist.serve() as url:
        block = datablist.config_block(url, store="datablist")
        config = tmp_path / "spacekit.toml"
        config.write_text(block.toml)
        workflow = yaml.safe_load(WORKFLOW.read_text())
        env = {k: v for k, v in workflow["env"].items() if "${{" not in str(v)}
        env.update(block.environment)
        env.update(
            SPACEKIT_CONFIG=str(config),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            HOME=str(tmp_path),
        )
        yield datablist, env


def step(name: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one step's shell as a CI runner does (bash -e) in ``folder``."""
    return subprocess.run(
        ["bash", "-e", "-c", steps()[name]], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )


def names(datablist: Any) -> dict[str, str]:
    found: dict[str, Any] = datablist.workspaces
    return {space["name"]: space_id for space_id, space in found.items()}


def checkout(tmp_path: Path, name: str, manifest: str = MANIFEST) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "spaces.toml").write_text(manifest)
    return folder


def test_the_workflow_plans_on_a_pull_request_applies_on_merge_and_checks_nightly(
    ci: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    datablist, env = ci
    datablist.add_workspace("Project 04")
    datablist.add_workspace("Stale")
    old = names(datablist)["Project 04"]
    pull_request = checkout(tmp_path, "pr")
    checked = step("check the manifest", pull_request, env)
    assert checked.returncode == 0, checked.stderr
    planned = step("plan", pull_request, env)
    assert planned.returncode == 0, planned.stderr
    assert "2 unchanged" not in planned.stdout and "1 to create, 1 to update, 1 to delete" in planned.stdout
    assert (pull_request / "plan.txt").read_text() == planned.stdout
    assert mutating(datablist) == []  # planning wrote nothing
    drift = step("check for drift", pull_request, env)
    assert drift.returncode == 1  # not applied yet: the service differs

    merged = checkout(tmp_path, "main")  # another runner, another folder: the plan is the artifact
    shutil.copy(pull_request / "plan.json", merged / "plan.json")
    applied = step("apply the reviewed plan", merged, env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert names(datablist) == {"Project Four": old, "Ops": names(datablist)["Ops"]}
    assert (merged / "sync.db").exists()
    again = step("apply the reviewed plan", merged, env)  # run twice: the journal makes it a no-op
    assert again.returncode == 0, again.stdout + again.stderr
    assert step("check for drift", merged, env).returncode == 0

    datablist.add_workspace("Made by hand")  # drift, found by the nightly check
    assert step("check for drift", merged, env).returncode == 1


def test_a_plan_gone_stale_before_the_merge_is_refused(
    ci: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    datablist, env = ci
    datablist.add_workspace("Project 04")
    pull_request = checkout(tmp_path, "pr")
    assert step("plan", pull_request, env).returncode == 0
    datablist.add_workspace("Ops")  # a planned create's name appeared on the service
    writes = len(mutating(datablist))
    refused = step("apply the reviewed plan", pull_request, env)
    assert refused.returncode == 2
    assert "a space named 'Ops' is now on the target" in refused.stderr
    assert len(mutating(datablist)) == writes


def test_the_pre_commit_hook_checks_the_staged_manifests(tmp_path: Path) -> None:
    hook = yaml.safe_load(HOOKS.read_text())[0]
    assert hook["id"] == "spacekit-manifest-check" and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert all(files.search(p) for p in ("spaces.toml", "infra/spaces.prod.toml", "spaces.jsonl"))
    assert not any(files.search(p) for p in ("pyproject.toml", "ci/spacekit.toml", "spaces.yaml"))
    (tmp_path / "spaces.toml").write_text(MANIFEST)
    (tmp_path / "spaces.bad.toml").write_text('[[spaces]]\nname = "A"\n\n[[spaces]]\nname = "A"\n')
    (tmp_path / "spaces.orgs.toml").write_text('[[spaces]]\nname = "!!"\nkind = "organization"\n')
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def hooked(*args: str) -> subprocess.CompletedProcess[str]:  # as pre-commit runs it: entry, args, files
        command = [*hook["entry"].split(), *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert hooked("spaces.toml").returncode == 0
    bad = hooked("spaces.toml", "spaces.bad.toml")
    assert bad.returncode == 2 and "declared twice, on line 2 and on line 5" in bad.stderr
    pytest.importorskip("spacekit_instabase")
    assert hooked("spaces.orgs.toml").returncode == 0
    refused = hooked("--for", "instabase", "spaces.orgs.toml")  # against the provider's emulator
    assert refused.returncode == 2 and "instabase refuses '!!'" in refused.stderr
