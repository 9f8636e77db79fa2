"""The whole result of a campaign as one dict (what campaign.json holds) and its exit code."""

from __future__ import annotations

from rig.campaign.aggregate import aggregate, compare, judge_limits
from rig.campaign.spec import Campaign

EXIT_PASSED = 0
EXIT_LIMIT_FAILED = 1
#: some run ended in an error (and no limit failed): rerun, and the cache resumes
EXIT_INCOMPLETE = 5


def campaign_result(campaign: Campaign, records: list[dict], counts: dict) -> dict:
    labels = [Campaign.label(s) for s in campaign.settings]
    aggregates = aggregate(campaign.settings, labels, records)
    limits = judge_limits(aggregates, campaign.spec.limits)
    errors = sum(1 for r in records if r.get("error"))
    if any(l["outcome"] == "fail" for l in limits):
        code = EXIT_LIMIT_FAILED
    elif errors:
        code = EXIT_INCOMPLETE
    else:
        code = EXIT_PASSED
    return {"name": campaign.spec.name, "file": str(campaign.file),
            "kind": campaign.runs[0].kind if campaign.runs else None,
            "seeds": campaign.spec.seed_list, "grid": campaign.spec.grid,
            "labels": labels, "counts": {"runs": len(records), "errors": errors, **counts},
            "computed": counts["computed"], "cached": counts["cached"],
            "runs": records, "aggregates": aggregates,
            "comparisons": compare(labels, records), "limits": limits, "exit_code": code}
