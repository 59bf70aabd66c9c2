"""Readers and writers of foreign file formats, one module per format."""
