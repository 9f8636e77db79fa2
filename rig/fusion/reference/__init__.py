"""NumPy twins of the compiled fusion kernels, one module per step of the engine (the same
names as ``ext/fusion_<step>.pyx``): the same arguments, the same results (to rounding). Slow
and plain on purpose; the tests hold the compiled kernels to them, and ``RIG_PUREPYTHON=1``
runs the engine on them (:mod:`rig.fusion.kernels`).

Track arrays (``N`` rows): ``x (N,K,6)``, ``P (N,K,6,6)``, ``mu (N,K)``, ``t (N,)``. Plot
arrays (``n`` rows): ``z (n,3)`` registered (range, az, el), ``t (n,)`` registered time,
``sensor (n,)``, ``R_diag (n,3)`` measurement variances including registration
uncertainty, ``var_clock (n,)`` variance of the clock correction (s²). Plots are 4-vectors
``(range, az, el, range rate)`` with range rate NaN where the sensor does not measure it; such
a plot is a 3-vector measurement (``dims``), and the 4th entries of the outputs are 0.
Kernels that take ``st`` read and write the arrays of a :class:`rig.fusion.store.TrackStore`.
"""
