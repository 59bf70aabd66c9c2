"""Stage 6's domain: observations, the HASH solve (``hash_core``), S/P amplitudes, result
tables, mechanism catalogs and faulting classes."""
