"""The one-line descriptions of corrupt records and lost workers, and the kill points."""

import os
import subprocess
import sys

import tensorflow as tf

from pgan_tf.core import faults


def test_corrupt_record_line(tmp_path):
    level = tmp_path / "x-r03.tfrecords"
    with tf.io.TFRecordWriter(str(level)) as w:
        for _ in range(4):
            w.write(b"r" * 84)  # 100 bytes a record on disk
    e = tf.errors.DataLossError(
        None, None, "corrupted record at 212 [[{{node while/IteratorGetNext}}]]"
    )
    assert (
        faults.corrupt_record(e, str(level), 8)
        == f"{level}: corrupted record 2 at byte offset 200 (8x8 level)"
    )
    e = tf.errors.DataLossError(None, None, "truncated record at 300")
    assert (
        faults.corrupt_record(e, str(level), 8)
        == f"{level}: truncated record 3 at byte offset 300 (8x8 level)"
    )
    assert (
        faults.corrupt_record(e, "/missing", 4)
        == "/missing: truncated record at byte offset 300 (4x4 level)"
    )
    e = tf.errors.DataLossError(None, None, "something else\nmore")
    assert faults.corrupt_record(e, "f", 4) == "f: something else (4x4 level)"


def test_lost_task_is_the_peer_not_this_process():
    heartbeat = tf.errors.UnavailableError(
        None,
        None,
        (
            "{{function_node __wrapped__CollectiveBcastSend_device_"
            "/job:worker/replica:0/task:0/device:CPU:0}} "
            "Collective ops is aborted by: Error reported from /job:worker/task:1: "
            "The following tasks are unhealthy "
            "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed."
        ),
    )
    assert faults.lost_task(heartbeat, ("worker", 0)) == "/job:worker/replica:0/task:1"
    reset = tf.errors.UnavailableError(
        None,
        None,
        (
            "{{function_node __wrapped__CollectiveBcastRecv_device_"
            "/job:worker/replica:0/task:1/device:CPU:0}} "
            "Collective ops is aborted by: recvmsg:Connection reset by peer\n"
            "Additional GRPC error information from "
            "remote target /job:worker/replica:0/task:0 while calling "
            "/tensorflow.WorkerService/CompleteInstance"
        ),
    )
    assert faults.lost_task(reset, ("worker", 1)) == "/job:worker/replica:0/task:0"
    assert (
        faults.lost_task(tf.errors.UnavailableError(None, None, "no names"), ("worker", 0))
        == "a peer worker"
    )


def test_kill_point_kills_on_the_nth_visit_only_when_asked():
    code = (
        "from pgan_tf.core import faults\n"
        "for i in range(5):\n"
        "    print(i, flush=True)\n"
        "    faults.kill_point('tick')\n"
    )
    env = dict(os.environ, PGAN_TF_KILL_AT="tick:3")
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -9 and proc.stdout.split() == ["0", "1", "2"]
    assert "kill point tick reached: SIGKILL" in proc.stderr
    env[faults.KILL_ENV] = "stage-switch"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.split() == ["0", "1", "2", "3", "4"]
