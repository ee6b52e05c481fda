"""Helpers for the fault tests: a small size-limited file system (tmpfs, skipped where mounting is
not permitted) and byte-level damage to files."""

import contextlib
import os
import subprocess

import pytest


@contextlib.contextmanager
def small_filesystem(path, size="256k"):
    """A tmpfs of `size` mounted at `path` for the block; skips the test where mount is not allowed
    (not root, no CAP_SYS_ADMIN, a CI container)."""
    os.makedirs(path, exist_ok=True)
    try:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a small file system here: {e}")
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {proc.stderr.strip()}")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def fill(path, leave=0):
    """Fills the file system of directory `path` up to `leave` bytes free (with one file)."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(path, "ballast"), "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def flip_bytes(path, offset, count=64):
    """Inverts `count` bytes of a file from `offset` (a bad copy, a failing disk)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        data = f.read(count)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in data))


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)
