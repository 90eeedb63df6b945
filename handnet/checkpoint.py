"""Checkpoints: a model's state dict as an .npz archive, written atomically and read without pickle.

The file is what ``np.savez`` writes: a ZIP archive with one entry ``<key>.npy`` per state-dict
key (``0.weight.npy``, ``1.running_mean.npy``, …), so ``np.load`` opens it and the arrays carry
PyTorch's names. Three promises:

* ``save`` is atomic. It writes a temporary file next to the target, flushes it to disk, and
  only then renames it over the target (``os.replace``, atomic on POSIX and Windows). A crash
  or error mid-save leaves the old checkpoint as it was, and the temporary file is removed.
* ``load`` never unpickles and never half-loads. It reads the whole file into memory with
  ``allow_pickle=False`` (an archive holding object arrays is refused before any of it is
  unpickled, so nothing in the file runs), checks every array, and hands them to
  ``Module.load_state_dict``, which checks every key and shape before writing any. On any error
  the model is left exactly as it was.
* ``save`` and ``load`` agree: ``save`` refuses a state that ``load`` would refuse (a NaN
  parameter, a negative variance), so every checkpoint written can be read back.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import zipfile
from pathlib import Path

import numpy as np

from handnet.module import Module


def save(model: Module, path: str | os.PathLike) -> Path:
    """Write ``model.state_dict()`` to ``path`` as an .npz archive, atomically; return the path written.

    The file is written at exactly ``path``: unlike ``np.savez``, no ".npz" is appended to a name
    that lacks it, so ``save(m, "ckpt")`` writes ``ckpt`` and ``load(m, "ckpt")`` reads it back.

    Raises:
        ValueError: ``path`` is a directory, or the model's state is one ``load`` would refuse
            (``Module.check_state_dict``: NaN or inf, a negative variance, …); nothing is written.
    """
    if not isinstance(model, Module):
        raise TypeError(f"save: model must be a Module, got {type(model).__name__}")
    path = Path(path)
    if path.is_dir() or not path.name:
        raise ValueError(f"save: path {str(path)!r} is a directory; give the checkpoint a file name, e.g. "
                         f"{str(path / 'model.npz')!r}")
    state = model.state_dict()
    try:
        model.check_state_dict(state)       # the checks load makes: never write what cannot be read back
    except ValueError as e:
        raise ValueError(f"save: the model's state is refused, since load could never read it back: {e}") from e
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")  # same directory: same file system
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, state)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def load(model: Module, path: str | os.PathLike) -> None:
    """Read a checkpoint written by ``save`` (or ``np.savez``) into ``model``.

    Raises:
        FileNotFoundError (or another OSError): the file cannot be read.
        ValueError: ``path`` is not a regular file (a directory, a FIFO: reading one could block
            for ever); the file is not an .npz archive, is truncated or corrupt, holds object
            arrays (pickled Python objects, refused); or an entry is not a value the model could
            hold (``Module.check_state_dict``: wrong shape, not real, NaN or inf, out of range).
        KeyError: the checkpoint misses a key of the model or has one the model lacks.
    In every case the model is unchanged.
    """
    if not isinstance(model, Module):
        raise TypeError(f"load: model must be a Module, got {type(model).__name__}")
    data = _read_regular_file(Path(path))  # all of it, before anything is parsed or changed
    state = _read_npz(data, str(path))
    try:
        model.load_state_dict(state)  # checks every key and shape before writing any
    except (KeyError, ValueError) as e:
        raise type(e)(f"load: the checkpoint {str(path)!r} does not fit the model: {e.args[0]}") from e


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, or ValueError if it is not a regular file.

    Opened without blocking, then checked on the open descriptor: opening a FIFO for reading
    would otherwise wait for a writer for ever, and checking the name first would race.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ValueError(f"load: {str(path)!r} is {kind}; a checkpoint is a regular file written by save")
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _write_npz(f, state: dict[str, np.ndarray]) -> None:
    """Write ``state`` as ``np.savez`` would, without pickling (and with no reserved key names)."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in state.items():
            with archive.open(key + ".npy", mode="w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(value), allow_pickle=False)


def _read_npz(data: bytes, where: str) -> dict[str, np.ndarray]:
    """Parse the bytes of an .npz archive into {key: array}, refusing pickles; ValueError if corrupt."""
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a ZIP's first entry, or an empty ZIP
        raise ValueError(f"load: {where!r} is not a valid checkpoint: not an .npz checkpoint (it is not a ZIP archive)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            state = {key: archive[key] for key in archive.files}
    except ValueError as e:
        if "Object arrays cannot be loaded" in str(e):   # an entry's header says dtype object
            raise ValueError(f"load: {where!r} holds object arrays (pickled Python objects); they are refused, "
                             f"since unpickling can run arbitrary code") from e
        raise ValueError(f"load: {where!r} is not a valid checkpoint: truncated or corrupt: {e}") from e
    except Exception as e:  # BadZipFile, EOFError, zlib.error, …: the bytes are in memory, so the file is bad
        raise ValueError(f"load: {where!r} is not a valid checkpoint: truncated or corrupt "
                         f"({type(e).__name__}: {e})") from e
    for key, value in state.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            what = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else "raw bytes, not a .npy array"
            raise ValueError(f"load: {where!r}: entry {key!r} must be an array of real numbers, got {what}")
    return state


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX: a directory entry is on disk once the directory is synced)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
