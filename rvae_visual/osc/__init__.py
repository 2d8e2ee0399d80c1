"""OSC for VJ tools: controls in (`play --osc-in`), state out (`play --osc-out`), the schema.

Every control of the vocabulary (rvae_visual.controls) is `/rvae/<control> value` in control
units, plus `/rvae/head x y`, `/rvae/scene/store n`, `/rvae/scene/recall n`. Out go the
ticks and hits as heard (scheduled against the audio clock by MIDI out's scheduler), the head,
scene recalls and changed control values. python-osc builds and parses the messages; the UDP
sockets and their threads are our own. Nothing here imports pygame, torch, sounddevice or mido.

Layer: above midi and session (it reuses `midi.notes_out.MidiScheduler` and drives the
conductor), beside render, which it never imports; only the commands import it.
"""

PREFIX = "/rvae/"
