"""schemathesis hooks for the fuzz run (loaded by the CLI through SCHEMATHESIS_HOOKS).

The run must not lock itself out of its own suite. schemathesis reuses values it saw in responses, so it
finds the fuzzing accounts' ids in the lists and their usernames in /me:
- a district admin or a street secretary may disable an account, reset its password (every session ends), or
  make its member leave (which disables the member's accounts): such a call on an id in FUZZ_PROTECTED goes to
  an id that exists nowhere instead (a 404, as any unknown id);
- failed logins lock an account for 15 minutes: a login as a username in FUZZ_PROTECTED goes to a username
  that exists nowhere instead (a 401, as any unknown username).
Everything else about those operations is fuzzed as usual."""

import os
import uuid

import schemathesis

PROTECTED = frozenset(filter(None, os.environ.get("FUZZ_PROTECTED", "").split(",")))
GUARDED_PARAMETERS = ("account_id", "member_id")


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() == "GET":
        return
    parameters = case.path_parameters or {}
    for name in GUARDED_PARAMETERS:
        if str(parameters.get(name)) in PROTECTED:
            parameters[name] = str(uuid.uuid4())
    body = case.body
    if case.path.endswith("/auth/token") and isinstance(body, dict) and str(body.get("username")) in PROTECTED:
        body["username"] = f"nobody-{uuid.uuid4().hex[:8]}"
