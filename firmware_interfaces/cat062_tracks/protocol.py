"""What a track-level partner sends: its tracker's system tracks as ASTERIX CAT062 over UDP.

A partner that shares tracks instead of plots runs its own tracker on its own radars and sends
its picture to the host, one or more CAT062 data blocks per UDP datagram, the way rig itself
publishes the fused picture. The format, item by item, is :mod:`rig.publish.cat062_format`
(edition 1.19); the host decodes it with the same codec (:mod:`rig.publish.codec`).

What each record must carry to be taken (else it is counted by reason and dropped, never
handed on; :mod:`rig.fusion.track_input` has the table of reasons):

========  =========================================================================
item      use
========  =========================================================================
I062/010  SAC, SIC of the partner's system (records of another are ``tracks_foreign``
          when the host was told which to expect)
I062/040  the partner's track number
I062/070  time of applicability: UTC time of day, 1/128 s
I062/105  WGS-84 position; with I062/130 (geometric altitude) the state's position
I062/185  velocity in the partner's system plane; with I062/220 (rate of climb) the
          state's velocity
I062/500  estimated accuracies: APC (sd of x, y) and ATV (sd of vx, vy) are required;
          COV, AGA, ARC are used when sent (defaults stand in for AGA and ARC)
I062/080  track status (confirmed unless it says otherwise)
========  =========================================================================

I062/100, I062/185 and the horizontal accuracies are in the ENU plane at the partner's system
reference point: rig's own origin unless the bench config says otherwise (the family option
``system_origin``). The standard deviations of I062/500 are unsigned on the wire; the XY
covariance (COV) is signed, and one that makes the horizontal block not positive definite is
refused as ``bad_accuracy``, as are zero accuracies.

A partner re-sends every track each update period, extrapolated when nothing new was seen:
a record with the same track number and time as one already taken is ``repeated`` (a datagram
that arrived twice), one further ahead of or behind the partner's stream than the limits is
``time_ahead`` or ``time_backwards`` (a clock that jumped).
"""

from __future__ import annotations

#: where the emulated partner sends by default
DEFAULT_PORT = 8620
#: the emulated partner's tracker sends its picture this often (host seconds)
DEFAULT_PERIOD_S = 1.0
DAY_S = 86400.0
