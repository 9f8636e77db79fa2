"""``rig campaign CAMPAIGN.yaml --out DIR``: many runs (seeds × grid) on Dask distributed."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "campaign", help="run a campaign (seeds × grid settings) on Dask, with statistics",
        description="Run every seed × grid setting of a campaign file (docs/campaigns.md): a "
                    "bench config ('rig run' each) or an offline fusion (scenario, fuse, "
                    "score), on a local Dask cluster or a remote scheduler. Finished runs are "
                    "cached under DIR/cache, so a stopped campaign resumes. Writes "
                    "campaign.json, campaign.html and junit.xml into DIR. Exit codes: 0 every "
                    "run finished and every limit held, 1 a setting failed a limit, 2 a bad "
                    "campaign file, 3 the scheduler could not be reached, 5 some runs failed "
                    "(rerun: the finished ones are cached).")
    p.add_argument("file", metavar="CAMPAIGN.yaml", help="campaign file")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="output folder (its cache/ makes a rerun resume)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="a running Dask scheduler (default: a local cluster on this machine)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    from rig.campaign.execute import close, connect, quiet_dask, run_campaign
    from rig.campaign.report import comparison_table, summary_table, write_outputs
    from rig.campaign.result import campaign_result
    from rig.campaign.spec import Campaign, load_campaign
    from rig.errors import UsageError
    from rig.outfiles import output_folder
    from rig.progress import Stages, StepLog, stderr_console

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    campaign = load_campaign(args.file)
    output_folder(args.out)
    labels = [Campaign.label(s) for s in campaign.settings]
    total = len(campaign.runs)
    on_terminal = stderr_console().is_terminal
    log = StepLog("rig campaign")
    quiet_dask(args.verbose)
    client = connect(args.scheduler, args.workers)
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        log("started", runs=total, settings=len(campaign.settings), workers=workers,
            scheduler=args.scheduler or "local")
        done = 0
        with Stages(enabled=on_terminal) as progress:
            progress.stage(f"{total} runs on {workers} workers", total=total, unit="runs")

            def on_record(record, from_cache):
                nonlocal done
                done += 1
                progress.advance()
                if on_terminal:
                    return
                figures = record.get("figures") or {}
                log("run cached" if from_cache else "run finished" if figures else "run failed",
                    done=f"{done}/{total}", setting=labels[record["setting"]],
                    seed=record["seed"], ospa_m=_short(figures.get("ospa_m")),
                    false_tracks=figures.get("false_tracks"), error=record.get("error"))

            records, counts = run_campaign(campaign, args.out, client, on_record=on_record)
    finally:
        close(client)
    result = campaign_result(campaign, records, counts)
    write_outputs(args.out, result)
    console = Console(width=None if Console().is_terminal else 160)
    console.print(summary_table(result))
    if result["comparisons"]:
        console.print(comparison_table(result))
    console.print(f"rig campaign: {counts['computed']} runs computed, {counts['cached']} "
                  f"from the cache, {result['counts']['errors']} failed; wrote "
                  f"{args.out / 'campaign.html'}", markup=False, highlight=False)
    return result["exit_code"]


def _short(value):
    return None if value is None else f"{value:.1f}"
