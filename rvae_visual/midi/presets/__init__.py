"""Controller mapping presets (TOML), read with importlib.resources."""
