"""`make run`: load the Guandu demo data once, start every service and the gateway under honcho, say where
everything is, and stop it all cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def banner(gateway: str, password: str) -> str:
    streets = ["guanshang", "jinma", "xiaobanqiao", "yiliu", "taihe", "wujing", "liujia", "guandu"]
    return f"""
Guandu suite is starting.
  gateway   {gateway}/api/v1      (health {gateway}/healthz, readiness {gateway}/readyz)
  API docs  {gateway}/docs        (OpenAPI {gateway}/openapi.json)
  metrics   gateway http://127.0.0.1:9100/metrics, organization http://127.0.0.1:9101/metrics,
            whistle http://127.0.0.1:9103/metrics
Demo accounts (password: {password}, set DEMO_PASSWORD to change it before the first run):
  district.admin                      district admin (区委组织部), the whole district
  <street>.secretary                  street secretary, e.g. liujia.secretary (六甲街道), one per street:
                                      {", ".join(streets)}
  <street>.c<NN>.secretary            community secretary, e.g. liujia.c01.secretary (六甲社区)
  <department>.desk                   city department desk, e.g. water.desk (水务局), cityman.desk
  <community>.<area>.br<N>.secretary  branch secretary, e.g. liujia.c01.a1.br1.secretary (1,012 branches)
  demo.member / demo.resident         a party member (sees only themself) and a resident of 六甲社区
Try:  curl -s -X POST {gateway}/api/v1/auth/token -H 'Content-Type: application/json' \\
        -d '{{"username": "liujia.secretary", "password": "{password}"}}'
Ctrl-C stops everything.
"""


def announce_ready(gateway: str, stop: threading.Event) -> None:
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if requests.get(f"{gateway}/readyz", timeout=2).status_code == 200:
                print(f"\n>>> Guandu suite is ready: {gateway}/docs\n", flush=True)
                return
        except requests.RequestException:
            pass
        stop.wait(1)
    if not stop.is_set():
        print(f"\n>>> the suite is not ready after 120 s: see the log above and {gateway}/readyz\n", flush=True)


def environment(base: Mapping[str, str]) -> dict[str, str]:
    """The environment every process of `make run` gets."""
    env = dict(base)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("GUANDU_VAR_DIR", str(ROOT / "var"))
    env.setdefault("DEMO_PASSWORD", "Guandu@2026")
    # The year's 8,325 whistles take about five minutes to load through the use cases (docs/whistle-rpc.md):
    # `make run` loads 400 unless told `WHISTLE_DEMO_RECORDS=full`, so the suite is up in about a minute.
    env.setdefault("WHISTLE_DEMO_RECORDS", "small")
    # The gateway's workers share their rate-limit counters there (`make redis` made sure it answers): counted
    # per worker, every limit would be multiplied by the number of workers.
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    return env


def main() -> int:
    env = environment(os.environ)
    var = Path(env["GUANDU_VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    password = env["DEMO_PASSWORD"]
    gateway = f"http://{env.get('GATEWAY_HOST', '127.0.0.1')}:{env.get('GATEWAY_PORT', '8000')}"

    # Organization first: whistle's demo names the nodes it made (kit.demo_tree), and each loads only once.
    for demo in ("organization.demo", "whistle.demo"):
        loaded = subprocess.run([sys.executable, "-m", demo], env=env, cwd=ROOT, check=False)
        if loaded.returncode != 0:
            print(f"error: loading the demo data ({demo}) failed (see above)", file=sys.stderr)
            return loaded.returncode
    print(banner(gateway, password), flush=True)

    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "-f", str(ROOT / "deploy" / "Procfile"), "-d", str(ROOT), "start"],
        env=env,
        cwd=ROOT,
        start_new_session=True,  # Ctrl-C reaches honcho through us, once, and honcho stops its children
    )
    stop = threading.Event()
    threading.Thread(target=announce_ready, args=(gateway, stop), daemon=True).start()

    def forward(signum: int, _frame: object) -> None:
        stop.set()
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = honcho.wait()
    stop.set()
    print("Guandu suite stopped.")
    return 0 if stop.is_set() else code


if __name__ == "__main__":
    sys.exit(main())
