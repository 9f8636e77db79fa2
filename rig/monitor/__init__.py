"""``rig monitor``: watch one source of plots or tracks live.

- :mod:`.target`: which source the command line names (a family, or a partner feed) and where.
- :mod:`.sensor`: a sensor of any family, real or emulated, through its
  :class:`rig.firmware.FirmwareInterface`; stopped streaming at the end.
- :mod:`.feed`: a partner's CAT062 feed, listened to and decoded.
- :mod:`.tally`: counts, rates and latency of what was received.
- :mod:`.view`: the live view (a rich table on a terminal, ``key=value`` lines elsewhere).
"""
