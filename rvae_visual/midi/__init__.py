"""MIDI: controller input with mapping and learn, note and clock output, clock input, hot-plug.

Built on python-rtmidi (the API chosen by mido's MIDO_BACKEND variable). Input is polled from
our own thread; output is scheduled against the audio clock with look-ahead. Nothing here
imports torch or sounddevice; only `player.attach` imports pygame (lazily, to read the
player's key and mouse events for MIDI learn).
"""

APP_PORT_NAME = "rvae-visual"
