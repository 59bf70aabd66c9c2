"""Figures of focal mechanisms: beachballs, per-event panels and catalog analyses (matplotlib).

``beachball`` draws lower-hemisphere equal-area beachballs; ``event`` the per-event figures
(beachball with station polarities, P waveforms around the mechanism); ``catalog`` the
catalog figures (map, Frohlich ternary, magnitudes, orientations, roses, quality summary).
"""
