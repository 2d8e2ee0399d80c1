"""One module a subcommand: `add_arguments(parser)` and `run(args) -> exit code`.

Modules here import only the standard library at the top; heavy packages (torch, pygame,
sounddevice) are imported inside `run`, so `rvae-visual scan` never waits for them.
"""
