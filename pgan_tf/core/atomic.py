"""Writing files so that a crash or a full disk never leaves half a file under the final name.

Everything is written to a temporary name in the same directory, flushed to disk, then renamed
into place (a rename within one file system is atomic). A write that fails (ENOSPC, EACCES, EIO,
or TensorFlow's file errors wrapping them) removes its temporary file and raises `WriteError`,
whose one-line message names the path and the reason. Files: `replace_via_temp` / `write_text`;
directories (a dataset, an imported run, an exported version): `make_temp_dir` + `install_dir`.
"""

import contextlib
import errno
import os
import re
import shutil
import tempfile

from pgan_tf.core.errors import first_line


class WriteError(RuntimeError):
    """A file could not be written; the message is `cannot write <path>: <reason>`."""

    def __init__(self, path, reason):
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


def reason(exc):
    """A short, one-line reason for an OSError or a TensorFlow file error."""
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
        text = exc.strerror or str(exc) or type(exc).__name__
        return f"{text} ({name})" if name else text
    message = first_line(exc)
    return (
        message.split("; ", 1)[1] if message.startswith("/") and "; " in message else message
    )  # "<path>; <why>"


def _is_write_failure(exc):
    if isinstance(exc, OSError):
        return True
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        return False
    return isinstance(exc, tf.errors.OpError)


def remove_quietly(*paths: str) -> None:
    """Removes files or directories that may or may not exist (cleanup after a failed write)."""
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(p)


@contextlib.contextmanager
def reported(path, *cleanup):
    """Turns a failed write inside the block into `WriteError(path)`, removing `cleanup` first."""
    try:
        yield
    except Exception as e:  # only write failures are converted, the rest re-raised
        if not _is_write_failure(e):
            raise
        remove_quietly(*cleanup)
        raise WriteError(path, reason(e)) from None


def fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Makes a rename or a new file in directory `path` durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(path: str) -> str:
    """`<stem>.tmp-<pid><ext>` next to `path` (the extension kept: some writers choose by it)."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.tmp-{os.getpid()}{ext}"


_TEMP_RE = re.compile(r"\.tmp-\d+([._]|$)")


def is_temp_name(name: str) -> bool:
    """True for a temporary name (`<stem>.tmp-<pid>...`): leftovers of a process killed
    mid-write."""
    return _TEMP_RE.search(name) is not None


def replace_via_temp(path: str, write) -> str:
    """Calls `write(tmp)` to write a temporary file, flushes it and renames it to `path`.

    Whatever `write` raises, the temporary file is removed; write failures become `WriteError`.
    """
    tmp = temp_name(path)
    try:
        with reported(path, tmp):
            write(tmp)
            fsync_file(tmp)
            os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return path


def write_text(path: str, text: str) -> str:
    """Writes a text file atomically."""

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    return replace_via_temp(path, write)


def make_temp_dir(target: str) -> str:
    """A new empty directory `.<name>.tmp-<random>` next to `target` (same file system, so
    `install_dir` can rename it into place), with the permissions a plain mkdir would give.

    A failure raises `WriteError` naming the parent directory.
    """
    parent = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(parent, exist_ok=True)
        name = os.path.basename(os.path.normpath(target))
        tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    except OSError as e:
        raise WriteError(parent, reason(e)) from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def install_dir(tmp_dir: str, final_dir: str, *, replace: bool = False) -> None:
    """Renames the finished directory `tmp_dir` to `final_dir` and makes the rename durable.

    With `replace`, an existing `final_dir` is first moved aside (`<tmp_dir>-old`), then deleted
    once the new one is in place (put back if the rename fails). Without it, the rename is a
    plain one (an existing non-empty `final_dir` makes it fail with OSError).
    """
    fsync_dir(tmp_dir)
    old = None
    if replace and os.path.isdir(final_dir):
        old = tmp_dir + "-old"
        os.rename(final_dir, old)
    try:
        os.rename(tmp_dir, final_dir)
    except OSError:
        if old is not None:
            os.rename(old, final_dir)
        raise
    fsync_dir(os.path.dirname(os.path.abspath(final_dir)))
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
