"""Every operation of /openapi.json, fuzzed as three roles: no server error, and every answer is one the
document promises (status code, content type, body schema). schemathesis' phases run in turn (examples,
coverage, fuzzing, then the stateful phase, which follows the links it infers from the responses: an id listed,
then fetched, changed, closed), each run bounded by FUZZ_SECONDS_PER_ROLE. Its CLI runs as any client would,
and its JSON report gives the counts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from kit.config import repo_root

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
SECONDS_PER_ROLE = int(os.environ.get("FUZZ_SECONDS_PER_ROLE", "35"))
SEED = os.environ.get("FUZZ_SEED", "20261204")  # another seed explores other inputs
# In this order, so that no run spoils a later one: a member changes nothing of others', a street secretary
# cannot reach the district admin's account, and the district admin runs last. Each run keeps its hands off the
# three accounts themselves (tests/fuzz/hooks.py).
ROLES = ("demo.member", "liujia.secretary", "district.admin")


def _me(suite, username: str) -> dict:
    token = suite.token(username)
    response = requests.get(f"{suite.base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return {**response.json(), "token": token}


# One worker: with two, schemathesis' threads had hypothesis parse lambdas' source with `ast` at once, and
# CPython 3.11.7 races there (gh-106905, fixed in 3.11.8: "SystemError: AST constructor recursion depth
# mismatch"), ending a run in a "Runtime Error". Should schemathesis' own unclassified exceptions still end a
# run with no failure found, the run is run again once, with the next seed, and says so; a failure, or
# any other error, fails at once, and a second internal error fails too.
TOOL_ERRORS = {"Runtime Error"}


def _fuzz(suite, accounts: dict, username: str, seed: str, report: Path, protected: set) -> tuple:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{suite.base_url}/openapi.json",
            *("--checks", CHECKS, "--phases", PHASES, "--max-time", str(SECONDS_PER_ROLE), "--workers", "1"),
            *("--seed", seed, "--generation-database", "none", "--request-timeout", "30", "--no-color"),
            *("--header", f"Authorization: Bearer {accounts[username]['token']}"),
            *("--report", "json", "--report-json-path", str(report)),
        ],
        cwd=report.parent,  # its cache (.schemathesis/) stays out of the work tree
        env={
            **os.environ,
            "PYTHONPATH": str(repo_root()),
            "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
            "FUZZ_PROTECTED": ",".join(sorted(protected)),
        },
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_ROLE * 3 + 60,
        check=False,
    )
    assert report.exists(), f"schemathesis wrote no report:\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}"
    return done, json.loads(report.read_text())


def _error_lines(stdout: str, most: int = 25) -> list[str]:
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if any(t in line for t in TOOL_ERRORS)), len(lines))
    return lines[start : start + most]


@pytest.mark.parametrize("username", ROLES)
def test_the_api_answers_every_input_as_documented(suite, username, tmp_path: Path, counts):
    accounts = {name: _me(suite, name) for name in ROLES}
    protected = {a[key] for a in accounts.values() for key in ("account_id", "member_id", "username") if a[key]}
    done, result = _fuzz(suite, accounts, username, SEED, tmp_path / "report.json", protected)
    note = ""
    titles = {group["title"] for group in result["errors"]}
    if titles and titles <= TOOL_ERRORS and not result["failures"]:
        note = f" (run again with seed {int(SEED) + 1}: the first ended in schemathesis' own {sorted(titles)})"
        counts.extend(f"    | {line}" for line in _error_lines(done.stdout))  # what it was, for the log
        again = tmp_path / "again"
        again.mkdir()
        done, result = _fuzz(suite, accounts, username, str(int(SEED) + 1), again / "report.json", protected)
    operations, cases = result["operations"], result["test_cases"]
    failures = sum(group["count"] for group in result["failures"])
    counts.append(
        f"fuzz as {username}: {operations['tested']} of {operations['total']} operations, {cases['generated']} "
        f"cases, {failures} failures, {len(result['errors'])} errors, {result['running_time']:.0f} s{note}"
    )
    assert done.returncode == 0 and failures == 0 and not result["errors"], done.stdout[-20000:]
    assert operations["tested"] == operations["total"] > 0 and cases["generated"] > 0, done.stdout[-5000:]
    assert result["phases"]["stateful"]["status"] == "success", result["phases"]
    for name in ROLES:  # the run stayed meaningful: every fuzzing account still logs in and is active
        assert _me(suite, name)["status"] == "active", f"the run as {username} spoilt {name}"
