"""Campaign benchmark: a 40-run offline campaign on 1 and on 2 Dask workers, and whether its
paired comparison finds a deliberately worse setting.

Run: ``python benchmarks/bench_campaign.py`` (``--seeds``, ``--targets``, ``--duration`` to
change the size). The campaign is the built-in scenario (with its clutter) on ``--seeds``
seeds × two settings: the default ``fusion.confirm_score`` (18) and a deliberately loose one
(2) that lets clutter pairs become tracks. It runs once on a LocalCluster of one worker and
once, into a fresh folder (nothing cached), on two; ``two_vs_one_worker_time_ratio`` is the
second's wall-clock time over the first's (target ≤ 0.6 on a machine with two free cores).
``worse_setting_detected`` is true when the paired comparison of the 2-worker campaign calls
the loose setting worse (95 % CI of the per-seed difference above 0 and p < 0.05) on false
tracks or OSPA.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rig.campaign.execute import close, connect, quiet_dask, run_campaign
from rig.campaign.result import campaign_result
from rig.campaign.spec import load_campaign

CAMPAIGN = """
name: bench-campaign
offline:
  scenario: {{source: builtin, targets: {targets}, duration_s: {duration}}}
seeds: {seeds}
grid:
  fusion.confirm_score: [18, 2]
"""


def timed_campaign(campaign, out: Path, workers: int) -> tuple[float, dict]:
    client = connect(workers=workers)
    try:
        client.wait_for_workers(workers)
        start = time.perf_counter()
        records, counts = run_campaign(campaign, out, client)
        elapsed = time.perf_counter() - start
    finally:
        close(client)
    return elapsed, campaign_result(campaign, records, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--targets", type=int, default=8)
    parser.add_argument("--duration", type=float, default=120)
    args = parser.parse_args()
    quiet_dask()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "campaign.yaml"
        path.write_text(CAMPAIGN.format(seeds=args.seeds, targets=args.targets,
                                        duration=args.duration))
        campaign = load_campaign(path)
        one_s, _ = timed_campaign(campaign, tmp / "one", 1)
        two_s, result = timed_campaign(campaign, tmp / "two", 2)
    worse = {c["metric"]: c for c in result["comparisons"]}
    detected = any(worse[m]["b_is"] == "worse" for m in ("false_tracks", "ospa_m") if m in worse)
    figures = {
        "runs": len(campaign.runs), "errors": result["counts"]["errors"],
        "one_worker_s": round(one_s, 2), "two_workers_s": round(two_s, 2),
        "two_vs_one_worker_time_ratio": round(two_s / one_s, 3),
        "worse_setting_detected": detected,
        **{f"{m}_difference": round(worse[m]["mean_difference"], 3) for m in worse},
        **{f"{m}_p_value": round(worse[m]["p_value"], 5) for m in worse},
    }
    for m in ("false_tracks", "ospa_m"):
        if m in worse:
            c = worse[m]
            print(f"confirm_score 2 vs 18, {m}: {c['mean_difference']:+.3g} "
                  f"[{c['ci_low']:+.3g}, {c['ci_high']:+.3g}], p={c['p_value']:.3g}: "
                  f"{c['b_is']}")
    print(f"{len(campaign.runs)} runs: 1 worker {one_s:.1f} s, 2 workers {two_s:.1f} s "
          f"(ratio {two_s / one_s:.2f})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
