"""Turning the faults a run can meet into one-line errors, and the kill points of the fault tests.

Corrupt records reach training as `tf.errors.DataLossError` ("corrupted record at <offset>");
a lost worker as an aborted collective (`UnavailableError` and kin) whose message names the task.
Both become exceptions whose message is the line the user sees (exit code 1).

`kill_point(name)` is where the `kill -9` trials stop a run: with `PGAN_TF_KILL_AT=<name>[:<n>]` in
the environment the process sends itself SIGKILL the n-th time (default: first) it reaches
`<name>`, exactly as an outside `kill -9` at that moment would. Without it a point does nothing.
"""

import collections
import os
import re
import signal
import struct
import sys

import tensorflow as tf

from pgan_tf.core.errors import first_line

KILL_ENV = "PGAN_TF_KILL_AT"
KILL_POINTS = ("tick", "checkpoint-written", "checkpoint-renamed", "stage-switch", "snapshot")
_OFFSET_RE = re.compile(r"(corrupted|truncated) record at (\d+)")
_TASK_RE = re.compile(r"/job:(\w+)/replica:\d+/task:(\d+)(?!/device)")
# What an aborted collective raises when a peer is gone (coordination service or gRPC).
PEER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.AbortedError,
    tf.errors.CancelledError,
)

_reached = collections.Counter()


class CorruptRecord(RuntimeError):
    """A dataset record failed its checksum (or was cut short) while training read it."""


class WorkerLost(RuntimeError):
    """Another worker of a multi-worker run died or cannot be reached."""


def _record_size(filename):
    """Bytes per record of a level file (all its records have the same size), or None."""
    try:
        with open(filename, "rb") as f:
            header = f.read(8)
    except OSError:
        return None
    return struct.unpack("<Q", header)[0] + 16 if len(header) == 8 else None


def corrupt_record(exc, filename, resolution):
    """The one-line description of a `DataLossError` met reading `filename` (a level file): the
    record's index and start offset (TensorFlow's offset may point past the record's header), as
    `create_tfrecords.py verify` reports it."""
    m = _OFFSET_RE.search(str(exc))
    level = f"({resolution}x{resolution} level)"
    if not m:
        return f"{filename}: {first_line(exc)} {level}"
    offset, step = int(m.group(2)), _record_size(filename)
    if not step:
        return f"{filename}: {m.group(1)} record at byte offset {offset} {level}"
    index = offset // step
    return f"{filename}: {m.group(1)} record {index} at byte offset {index * step} {level}"


def lost_task(exc, own_task):
    """The peer task an aborted collective names (`/job:worker/replica:0/task:1`), else 'a peer'."""
    for job, index in _TASK_RE.findall(str(exc)):
        if (job, int(index)) != own_task:
            return f"/job:{job}/replica:0/task:{index}"
    return "a peer worker"


def kill_point(name):
    """SIGKILLs this process here when PGAN_TF_KILL_AT asks for `name` (see the module
    docstring)."""
    wanted = os.environ.get(KILL_ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(count or 1):
        sys.stdout.flush()
        sys.stderr.write(f"kill point {name} reached: SIGKILL\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
