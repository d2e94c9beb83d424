"""``make bench``: run every benchmark, then print one table of results against targets.

Each benchmark is a module ``bench.<name>`` runnable as ``python -m bench.<name>`` that writes
``bench/results/<name>.json`` with a ``summary`` list of rows:
``{"metric": str, "value": number, "unit": str, "target": str, "ok": bool | None}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bench.common import RESULTS, ROOT, machine

BENCHMARKS = [
    "claim", "dispatch", "booking_api", "login_flood", "web_pages", "reports", "slots", "chaos",
]  # fmt: skip


def main() -> int:
    failures = 0
    for name in BENCHMARKS:
        if not (ROOT / "bench" / f"{name}.py").exists():
            print(f"-- {name}: absent, skipped")
            continue
        print(f"== {name} ...", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        print(f"== {name}: exit {code} in {time.perf_counter() - start:.0f} s", flush=True)
        failures += code != 0
    print()
    print(f"Machine: {json.dumps(machine(), ensure_ascii=False)}")
    print(f"{'benchmark':<12} {'metric':<48} {'value':>12} {'unit':<6} {'target':<14} ok")
    for name in BENCHMARKS:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        for row in json.loads(path.read_text()).get("summary", []):
            ok = {True: "yes", False: "NO", None: "-"}[row.get("ok")]
            print(
                f"{name:<12} {row['metric']:<48} {row['value']:>12} {row.get('unit', ''):<6} "
                f"{row.get('target', ''):<14} {ok}"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
