"""The import contracts of pyproject.toml (the service shape of services/README.md) hold on the tree, and each one
fails when broken: a copy of the packages gets one forbidden import per case and `lint-imports` must refuse it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (contract id, file to break, the import that breaks it)
BREAKS = [
    ("service-layers", "services/organization/domain/tree.py", "import organization.app.tree"),
    ("service-layers", "services/organization/app/tree.py", "import organization.rpc.tree"),
    ("service-layers", "services/organization/rpc/tree.py", "import organization.service"),
    ("service-layers", "services/organization/adapters/passwords.py", "import organization.schemas.tree"),
    ("pure-domain", "services/organization/domain/tree.py", "import sqlalchemy"),
    ("pure-domain", "services/organization/domain/members.py", "import marshmallow"),
    ("pure-domain", "services/organization/domain/accounts.py", "import nameko"),
    ("services-apart", "services/organization/app/tree.py", "import gateway.rpc"),
    ("kit-knows-no-service", "services/kit/uow.py", "import organization.domain.tree"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import organization.app.tree"),
    ("gateway-sees-wire-contracts-only", "gateway/auth.py", "import organization.adapters.passwords"),
    ("pure-domain", "services/whistle/domain/lifecycle.py", "import kit.clock"),
    ("pure-domain", "services/whistle/domain/catalogue.py", "import yaml.reader"),
    ("services-apart", "services/whistle/catalogue/__init__.py", "import gateway.rpc"),
    ("kit-knows-no-service", "services/kit/clock.py", "import whistle.domain.calendar"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import whistle.domain.lifecycle"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import whistle.catalogue"),
    ("services-independent", "services/whistle/domain/catalogue.py", "import organization.domain.tree"),
    ("services-independent", "services/organization/app/tree.py", "import whistle.domain.lifecycle"),
    ("service-layers", "services/whistle/app/whistles.py", "import whistle.rpc.whistles"),
    ("service-layers", "services/whistle/adapters/repositories/whistles.py", "import whistle.app.whistles"),
    ("service-layers", "services/whistle/schemas/whistles.py", "import whistle.adapters.orm.whistles"),
    ("service-layers", "services/whistle/rpc/whistles.py", "import whistle.service"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import whistle.app.whistles"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import whistle.adapters.orm.whistles"),
    ("gateway-sees-wire-contracts-only", "gateway/api/tree.py", "import whistle.service"),
]


def _lint(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{root / 'services'}{os.pathsep}{root}"}
    only = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml"), *only],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shape")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("services", "gateway"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len({c for c, _, _ in BREAKS})} kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(("contract", "path", "line"), BREAKS, ids=[f"{c}:{p}" for c, p, _ in BREAKS])
def test_each_contract_fails_when_broken(tree_copy: Path, contract: str, path: str, line: str) -> None:
    target = tree_copy / path
    original = target.read_text()
    target.write_text(f"{original}\n{line}  # noqa\n")
    try:
        result = _lint(tree_copy, contract)
    finally:
        target.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 1 broken." in result.stdout, result.stdout
