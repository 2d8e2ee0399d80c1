"""Audio: drum samples, transport, sequencer, mixer and the sounddevice stream (no pygame, no torch).

kit        bundled and user kits, resampled to the stream rate
sequencer  pure: which hits of a looping Pattern start in a window of samples
transport  tempo, start/stop, position in samples, quantised Pattern changes
voices     preallocated sample voices placed by absolute sample time
mixer      transport + voices + master gain + soft clip: one block (live and offline alike)
stream     the sounddevice callback, or a silent wall-clock runner with no audio device
records    what the callback reports (named block records, hits, underflows) and TransportView
engine     AudioEngine, what the player uses (ThreadEngine: all of it in this process)
proc       ProcessEngine: the engine in a process of its own (the default)
offline    render Patterns to WAV through the same mixer
"""
