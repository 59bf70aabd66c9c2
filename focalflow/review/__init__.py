"""``focalflow review``: look at each event's waveforms beside its beachball, flip, drop or set
doubtful polarities and see the mechanism move, then accept the event.

A small web application served on 127.0.0.1 by :mod:`focalflow.review.server` over a working
directory (every asset is local; no internet). Edits go to the working directory's
``overrides.csv`` (:mod:`focalflow.mechanisms.overrides`), which stage 6 honours on every later
run, so reviewed events survive reruns. :mod:`focalflow.review.session` holds the tables and
builds what the page shows; :mod:`focalflow.review.solver` recomputes one event's mechanism.
"""
