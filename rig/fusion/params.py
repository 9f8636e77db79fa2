"""Tuning of the fusion engine, validated on construction (unknown keys are errors)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FusionParams(BaseModel):
    """Every number the engine uses, with its unit in the name.

    Process noise (continuous white-noise acceleration, per axis, m²/s³): ``q_cv`` for straight
    flight (≈ 0.3 m/s² of unmodelled acceleration over a 4 s revisit), ``q_turn`` for the two
    coordinated-turn models at ±``turn_rate_rad_s``, ``q_vertical`` on the up axis of those
    three (aircraft mostly hold their height), ``q_ballistic`` on every axis of the
    gravity-only model (its mean follows gravity towards the earth's centre, so little noise
    is needed).

    Where the values come from: the defaults of the models, of initiation, confirmation and
    deletion were tuned on training data only (random and local searches scored by OSPA at
    p = 1 with identity metrics beside): the five folders of
    ``../shared/examples/training`` (an independent generator's) and rig's own scenarios of
    seeds 11 to 14 (default, ``--biased``, flat) and 21 (ballistic targets only). They were
    never tuned on the seeds ``benchmarks/bench_fusion.py`` judges on (7) nor on the
    independent ``interchange-flat`` and ``interchange-wgs84`` folders. What each value does
    and why it is what it is stands in its description; "tuned" means the search preferred it
    and its neighbours did worse.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- time ---------------------------------------------------------------------------
    window_s: float = Field(1.0, ge=0.001, le=60, description="plots are fused in windows of "
                            "this length (at least 1 ms: a window must end after the plots "
                            "in it at any time the clocks read)")
    hold_back_s: float = Field(1.0, ge=0, le=600, description="wait this long for late plots")
    oos_tolerance_s: float = Field(0.5, ge=0, le=3600, description="a plot older than the processed "
                                   "horizon by more than this is out of sequence (counted, "
                                   "not used)")
    max_time_jump_s: float = Field(600.0, gt=0, description="a plot this far ahead of the "
                                   "latest one is rejected (a clock gone wrong would "
                                   "otherwise end fusion for every other sensor)")
    # --- motion models (IMM) -------------------------------------------------------------
    q_cv: float = Field(0.5, gt=0, description="straight flight (tuned: 0.3-1 alike)")
    q_turn: float = Field(200.0, gt=0, description="the turn models: high, so that with "
                          "their ±0.1 rad/s they follow any turn up to the 3-4 g of the "
                          "training folders' targets (tuned; was 4 with ±0.05 rad/s, which "
                          "lost every turn above 3 °/s and made a new track each time)")
    q_ballistic: float = Field(0.5, gt=0)
    q_vertical: float = Field(0.1, gt=0, description="vertical density of CV and turns "
                              "(0.002-0.3 alike: the vertical velocity prior matters more)")
    turn_rate_rad_s: float = Field(0.1, gt=0, description="turn rate of the turn models "
                                   "(tuned: 0.08-0.13)")
    switch_rate_per_s: float = Field(0.01, gt=0, description="IMM switching rate between "
                                     "straight flight and turns, and out of ballistic flight "
                                     "(tuned: 0.01 better than 0.02-0.2)")
    switch_to_ballistic_per_s: float = Field(0.0005, gt=0, description="IMM switching rate "
                                             "into ballistic flight (tuned: lower keeps "
                                             "aircraft tracks level)")
    gravity_mps2: float = Field(9.80665, ge=0)
    mu_initial: tuple[float, float, float, float] = (0.85, 0.05, 0.05, 0.05)
    # --- measurements -------------------------------------------------------------------
    use_range_rate: bool = Field(True, description="update with a plot's range rate when it "
                                 "has one")
    sigma_range_rate_mps: float = Field(2.0, gt=0, description="range-rate noise of a sensor "
                                        "whose table gives none")
    # --- association -----------------------------------------------------------------------
    gate_d2: float = Field(16.27, gt=0, description="Mahalanobis gate (chi² 3 dof, 0.999; the "
                           "same probability for plots with range rate, 4 dof)")
    coarse_gate_m: float = Field(2000.0, gt=0, description="Euclidean pre-gate margin")
    model_gate_weight: float = Field(0.01, gt=0, le=1, description="a plot inside the gate "
                                     "of any IMM model this probable is a candidate, not "
                                     "only one inside the mixture's moment-matched gate (a "
                                     "climbing missile's next plot is the ballistic model's "
                                     "while the aircraft models still dominate)")
    # --- initiation and deletion -----------------------------------------------------------
    v_initial_sigma_mps: float = Field(450.0, gt=0, description="horizontal velocity prior "
                                       "of a new track (tuned: 450 over 250-350; wide "
                                       "enough for the second plot of a fast target)")
    v_up_initial_sigma_mps: float = Field(10.0, gt=0, description="vertical velocity prior "
                                          "of a new track in the aircraft models (straight "
                                          "flight and turns): aircraft climb at tens of m/s, "
                                          "and with radar elevation the weakest measurement "
                                          "a wide prior costs ~30 % of position RMSE (tuned: "
                                          "5-15; 350 before)")
    v_up_ballistic_sigma_mps: float = Field(450.0, gt=0, description="vertical velocity "
                                            "prior of a new track in the ballistic model "
                                            "(what lets the IMM take up a climbing missile "
                                            "while the aircraft models hold level)")
    initiation_speed_max_mps: float = Field(1500.0, gt=0, description="within a window, a "
                                            "plot within reach of an earlier unassigned plot "
                                            "at this speed waits for that plot's new track "
                                            "before it starts one of its own")
    # --- passive (angle-only) sensors: rig.fusion.triangulation ------------------------------
    triangulation_max_dt_s: float = Field(3.0, gt=0, description="a bearing no track took "
                                          "waits this long to be crossed with another "
                                          "passive sensor's")
    triangulation_min_angle_deg: float = Field(5.0, gt=0, lt=90, description="two lines of "
                                               "sight crossing at a shallower angle start "
                                               "no track (the range along them is ill "
                                               "determined)")
    triangulation_gate_d2: float = Field(9.0, gt=0, description="two lines of sight cross "
                                         "when their miss distance² is within this many "
                                         "times its variance (angular noise at the ranges "
                                         "plus the target's motion between the bearings)")
    triangulation_speed_mps: float = Field(350.0, gt=0, description="target speed allowed "
                                           "for between two crossed bearings")
    passive_confirm_sensors: int = Field(3, ge=2, le=64, description="a track updated only "
                                         "by passive sensors is confirmed only once this "
                                         "many different sensors updated it: two lines of "
                                         "sight cross at every pair of targets (ghosts); a "
                                         "third through the same point, or a radar plot, "
                                         "tells a target from a ghost")
    partner_track_gate_d2: float = Field(22.46, gt=0, description="a partner's track stays "
                                         "bound to the system track it was fused into "
                                         "while their states differ by less than this "
                                         "Mahalanobis distance² (6 dof; chi² 0.999)")
    partner_track_information_share: float = Field(
        0.5, gt=0, le=1, description="the share of what a partner's track learnt since its "
        "previous report that the system track takes: the partner's tracker and ours "
        "absorb the same manoeuvres, which the de-correlation does not remove (tuned on "
        "rig's seeds 11-16 and the training folders: 1 left the tracks both partners fed "
        "overconfident, NEES 12.4 with 15 % beyond the chi² 99 % quantile; 0.5: 7.6 and "
        "5 %, OSPA no worse)")
    partner_track_timeout_s: float = Field(3.0, gt=0, description="a partner track not "
                                           "reported for this long is forgotten, and a "
                                           "system track only it fed is deleted (the "
                                           "partner dropped it)")
    confirm_updates: int = Field(2, ge=2, le=1_000_000, description="fewest updates "
                                 "that confirm a tentative track")
    confirm_score: float = Field(18.0, description="a tentative track is confirmed once its "
                                 "score (the log likelihood ratio of its updates, target "
                                 "against clutter) reaches this: two plots that agree "
                                 "closely, far from the radars, confirm; near a radar or "
                                 "with a loose gate it takes three or more (tuned: 9-18 "
                                 "alike on the independent folders; 18 drops the clutter "
                                 "pairs of slow radars in rig's own scenarios, 6 lets "
                                 "clutter pairs through everywhere)")
    confirm_span_s: float = Field(0.5, ge=0, description="a tentative track is confirmed "
                                  "only once its updates span this long (its velocity "
                                  "measured, not guessed: two radars' plots a fraction of a "
                                  "second apart confirmed climbing missiles with no vertical "
                                  "velocity; tuned 0.5 over 0, 1 and 2)")
    clutter_floor_per_scan: float = Field(1.0, gt=0, description="clutter assumed per scan "
                                          "of a sensor that states less (or none): no "
                                          "sensor is trusted to be clutter-free")
    range_rate_span_mps: float = Field(2000.0, gt=0, description="clutter range rates are "
                                       "taken as spread evenly over this span")
    pd_unknown: float = Field(0.9, gt=0, le=1, description="detection probability of a "
                              "sensor that states none, for the track score (no miss is "
                              "charged to it)")
    delete_miss_probability: float = Field(3e-3, gt=0, lt=1, description="a confirmed "
                                           "track is deleted once the chance that every look "
                                           "since its last update missed a real target "
                                           "(Π (1 − pd) over the looks of the sensors whose "
                                           "coverage holds it) falls below this (tuned: 1e-3 "
                                           "to 1e-2; three looks at pd 0.85)")
    tentative_miss_probability: float = Field(0.05, gt=0, lt=1, description="the same for "
                                              "a tentative track (two looks)")
    tentative_gap_scans: float = Field(2.2, gt=0, description="a tentative track is also "
                                       "deleted after this many revisit periods without an "
                                       "update (the shortest scan period of the sensors that "
                                       "updated it last)")
    coast_scans: float = Field(3.0, gt=0, description="a confirmed track is also deleted "
                               "after this many revisit periods without an update (the "
                               "longest scan period of the sensors that updated it last: "
                               "what holds where no sensor's coverage is known)")
    below_ground_m: float = Field(1000.0, ge=0, description="a track this far below sea "
                                  "level (on the earth's mean sphere) is deleted")
    max_position_sigma_m: float = Field(5000.0, gt=0, description="delete a track whose "
                                        "position sigma exceeds this")
    merge_d2: float = Field(6.0, gt=0, description="two tracks whose states differ by less "
                            "than this Mahalanobis distance (6 dof) are one target")
    merge_checks: int = Field(2, ge=1, description="consecutive merge checks before merging")
    manage_period_s: float = Field(1.0, ge=0, description="deletion and merging run after "
                                   "a window only once this much fusion time has passed "
                                   "since they last ran (after every window when windows are "
                                   "this long or longer, as offline with 1 s windows). Their "
                                   "decisions are measured in scans (seconds), while the "
                                   "real-time bench fuses 10 ms windows: running them after "
                                   "each would cost their whole price a hundred times a "
                                   "second. A track is deleted at most this much later than "
                                   "it is due; merge_checks are this far apart")
    # --- registration ----------------------------------------------------------------------
    registration_on: bool = True
    range_bias_sigma_m: float = Field(150.0, gt=0, description="prior of each range bias")
    az_bias_sigma_rad: float = Field(0.004, gt=0, description="prior of each azimuth bias")
    el_bias_sigma_rad: float = Field(0.002, gt=0, description="prior of each elevation bias")
    clock_offset_sigma_s: float = Field(0.3, gt=0, description="prior of each clock offset")
    bias_walk_per_s: tuple[float, float, float, float] = Field(
        (1e-2, 1e-8, 1e-8, 1e-5), description="random-walk variance rates of (range m², az "
        "rad², el rad², clock s²) per second")
    register_every_s: float = Field(4.0, ge=0, description="update the registration with "
                                    "the plot pairs gathered over this long")
    register_min_updates: int = Field(4, ge=1, le=1_000_000, description="a track lends its "
                                      "velocity to registration once it has this many "
                                      "updates")
    register_max_dt_s: float = Field(4.0, gt=0, description="pair plots of two sensors at "
                                     "most this far apart in time")
    register_accel_mps2: float = Field(5.0, ge=0, description="unmodelled acceleration "
                                       "allowed for in moving a plot to its partner's time")
    register_gate_d2: float = Field(16.27, gt=0, description="plot pairs beyond this "
                                    "(chi² 3 dof, 0.999) are left out of registration")
