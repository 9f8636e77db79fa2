"""Campaigns: many runs (seeds × grid settings) of a bench config or an offline fusion,
executed on Dask distributed, cached by content, aggregated with confidence intervals.

- :mod:`.spec`: the campaign file and the runs it asks for.
- :mod:`.runs`: one run, in its own folder and subprocess.
- :mod:`.execute`: the runs on a Dask cluster, with the cache that makes a campaign resume.
- :mod:`.aggregate`: per-setting statistics and paired comparisons (bootstrap CIs).
- :mod:`.report`: campaign.json, campaign.html and junit.xml.
"""
