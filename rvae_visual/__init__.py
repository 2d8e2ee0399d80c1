"""rvae-visual: a live drum instrument on a VAE's 2-D map of rhythms."""

__version__ = "0.1.0"
