"""The session: what is played (conductor), which models and kits are at hand (library), and
the HUD's one-line messages. No pygame: the window drives it once per frame."""
