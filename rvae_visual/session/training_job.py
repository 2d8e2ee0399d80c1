"""Training a new model from a dropped folder, in a separate process, so the instrument never stalls.

Runs `python -m rvae_visual train FOLDER -o OUT --progress jsonl` at low priority; a reader
thread turns its stdout lines into events on a queue that the main loop drains once per frame.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..outfiles import check_output_file, free_name, writable_fallback

MODEL_BYTES_NEEDED = 1024 * 1024  # as `train` checks

MODEL_SUFFIX = ".npz"


@dataclass(frozen=True)
class TrainingEvent:
    """kind: 'progress' (epoch, epochs, loss), 'done' (path, summary), 'failed' (message)."""

    kind: str
    epoch: int = 0
    epochs: int = 0
    loss: float = float("nan")
    path: str = ""
    message: str = ""
    summary: dict | None = None
    notes: tuple[str, ...] = ()  # one-line problems on the way: clips skipped, model saved elsewhere


def output_path_for(folder: Path) -> Path:
    """Where the trained model goes: beside the clips, `<folder>/<folder name>.npz`, never
    overwriting an earlier one (`-2`, `-3`, ... are added); when the folder takes no file (read
    only, full), the same name in the user's data folder (see `outfiles.fallback_folders`)."""
    base = folder.name or "clips"
    try:
        check_output_file(folder / f"{base}{MODEL_SUFFIX}", "model", MODEL_BYTES_NEEDED)
    except InputError:
        try:
            return writable_fallback(f"{base}{MODEL_SUFFIX}", avoid=folder)
        except OSError:
            pass  # nowhere better: train anyway, `train` itself saves where it can
    return free_name(folder, f"{base}{MODEL_SUFFIX}")


def _lower_priority() -> None:  # runs in the child before exec
    try:
        os.nice(10)
    except OSError:
        pass


class TrainingJob:
    """One training subprocess; `poll()` returns the events that arrived since the last call."""

    def __init__(self, folder: str | Path, out: str | Path | None = None,
                 extra_args: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.out = Path(out) if out is not None else output_path_for(self.folder)
        self.events: queue.SimpleQueue[TrainingEvent] = queue.SimpleQueue()
        self.finished = False
        self._stderr_lines: list[str] = []
        env = dict(os.environ)
        # One compute thread and a lower priority: the audio callback and the frame loop come first.
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "rvae_visual", "train", str(self.folder), "-o", str(self.out),
               "--progress", "jsonl", *(extra_args or [])]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, env=env, preexec_fn=_lower_priority if os.name == "posix" else None,
        )
        self._err_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_thread.start()
        self._thread = threading.Thread(target=self._read_stdout, daemon=True)
        self._thread.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            line = line.strip()
            if line:
                self._stderr_lines.append(line)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        summary = None
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "epoch" in obj:
                self.events.put(TrainingEvent("progress", int(obj.get("epoch", 0)),
                                              int(obj.get("epochs", 0)), float(obj.get("loss", "nan"))))
            elif "seconds" in obj:
                summary = obj
        code = self.proc.wait()
        self._err_thread.join(timeout=5)
        notes = tuple(line.removeprefix("rvae-visual: error: ").removeprefix("skipped: ")
                      for line in self._stderr_lines
                      if line.startswith("skipped: ") or "saved to" in line)
        saved = Path(str((summary or {}).get("model") or self.out))
        if code in (0, 3) and saved.is_file():  # 3: `train` saved it elsewhere (in the notes)
            if saved.parent != self.folder and not any("saved to" in n for n in notes):
                notes += (f"{self.folder}: cannot write the model there; saved to {saved}",)
            self.out = saved
            self.events.put(TrainingEvent("done", path=str(saved), summary=summary, notes=notes))
        else:
            why = self._stderr_lines[-1] if self._stderr_lines else f"training exited with code {code}"
            if notes and notes[0] not in why:  # name the clips that made it fail, on the one line
                why += ": " + "; ".join(notes[:2]) + (f"; and {len(notes) - 2} more" if len(notes) > 2 else "")
            self.events.put(TrainingEvent("failed", message=why))

    def poll(self) -> list[TrainingEvent]:
        """Events since the last poll (never blocks)."""
        out = []
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                break
            if ev.kind in ("done", "failed"):
                self.finished = True
            out.append(ev)
        return out

    def cancel(self) -> None:
        """Stop the training process (on quit)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
