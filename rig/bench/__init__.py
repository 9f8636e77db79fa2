"""``rig run``: the real-time bench run and everything it is made of.

- :mod:`.config`: the bench configuration (YAML, versioned, validated).
- :mod:`.sensors`: one handle per sensor, emulated (a subprocess) or real, behind one API.
- :mod:`.loop`: the real-time fusion loop and its timing measurements.
- :mod:`.outputs`: the partner feeds the fused picture is published to.
- :mod:`.report`: accuracy, limits and the files a run leaves behind.
- :mod:`.run`: the whole run, start to clean stop.
"""
