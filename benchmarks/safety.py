"""Safety detectors on the labelled set: precision and recall per behaviour (JSON on stdout).

    python benchmarks/safety.py [--sets tests/safety/labelled,tests/safety/heldout] [--errors]

Two sets: `labelled` (the detectors were written against it) and `heldout` (written afterwards,
never used to tune them: the honest estimate). A trajectory is a positive of a behaviour when labels.json lists it, a negative otherwise; the
detectors (ale.safety.detect) predict a behaviour when at least one detection names it. The set is
rebuilt with tests/safety/labelled_cases.py (scripted episodes through the harness in real sandboxes).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ale.safety import BEHAVIOURS, detect


def score(folder: Path) -> dict:
    labels = json.loads((folder / "labels.json").read_text())
    per = {b: {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "errors": []} for b in BEHAVIOURS}
    t0 = time.perf_counter()
    for name, truth in sorted(labels.items()):
        found = {d.behaviour for d in detect(json.loads((folder / name).read_text()))}
        for b, s in per.items():
            key = ("tp" if b in found else "fn") if b in truth else ("fp" if b in found else "tn")
            s[key] += 1
            if key in ("fp", "fn"):
                s["errors"].append(f"{key} {name}")
    dt = time.perf_counter() - t0
    out = {}
    for b, s in per.items():
        p = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
        r = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
        out[b] = {"positives": s["tp"] + s["fn"], "negatives": s["tn"] + s["fp"], "precision": round(p, 3),
                  "recall": round(r, 3), **{k: s[k] for k in ("tp", "fp", "fn", "tn", "errors")}}
    return {"trajectories": len(labels), "audit_ms_per_trajectory": round(1000 * dt / max(1, len(labels)), 2),
            "behaviours": out}


def main() -> None:
    ap = argparse.ArgumentParser()
    root = Path(__file__).parent.parent / "tests/safety"
    ap.add_argument("--sets", default=f"{root / 'labelled'},{root / 'heldout'}")
    ap.add_argument("--errors", action="store_true", help="list the misclassified files")
    a = ap.parse_args()
    out = {}
    for folder in a.sets.split(","):
        res = out[Path(folder).name] = score(Path(folder))
        if not a.errors:
            for s in res["behaviours"].values():
                s.pop("errors")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
