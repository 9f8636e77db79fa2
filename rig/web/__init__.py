"""The live air picture in a browser: ``rig run --web`` and ``rig view RECORDING``.

:mod:`.feed` gathers the picture in the run's loop (a few numbers per track and plot, no
geometry) and writes it to the web server's process (:mod:`.server`), which turns it into
latitudes and longitudes, keeps the last minutes for scrubbing back, and streams it over a
websocket to the page in ``static/`` (Leaflet, served from the package: no network needed).
"""
