"""Choosing the tf.distribute strategy and splitting a global batch between replicas."""

import contextlib
import json
import os
import subprocess
import sys

import tensorflow as tf

from pgan_tf.core import tf_compat


def split_cpu(num_devices):
    """Splits the CPU into `num_devices` logical devices; must run before TensorFlow initializes."""
    if num_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) == num_devices:
        return
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
    )


def tf_config_workers():
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(kind="auto", worker_timeout=300.0):
    """auto: MultiWorkerMirrored when TF_CONFIG names several workers, else Mirrored over the local
    GPUs — or over the logical CPUs when the CPU was split, or the one CPU when neither.

    worker_timeout (seconds) bounds how long a multi-worker run waits for a worker that died or
    cannot be reached: at start-up, and between heartbeats during training.
    """
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "multi_worker" or (kind == "auto" and tf_config_workers() > 1):
        configure_coordination(worker_timeout)
        with _deadline(worker_timeout, _peers()):
            return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _peers():
    """'task address, ...' of the other tasks TF_CONFIG names (for the start-up error)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    me = config.get("task", {})
    return ", ".join(
        f"/job:{job}/replica:0/task:{i} ({address})"
        for job, addresses in config.get("cluster", {}).items()
        for i, address in enumerate(addresses)
        if (job, i) != (me.get("type"), me.get("index"))
    )


_WATCHDOG = """
import os, signal, sys, time
pid, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    time.sleep(0.2)
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(0)
print(message, file=sys.stderr, flush=True)
os.kill(pid, signal.SIGKILL)
"""


@contextlib.contextmanager
def _deadline(seconds, peers):
    """Ends this process with one line on stderr if the block does not finish in `seconds`.

    Joining the cluster waits inside TensorFlow holding the GIL, where no Python timer, signal
    handler or exception can act, so the deadline is kept by a small watchdog process."""
    message = (
        f"error: the cluster did not come together within --worker_timeout={seconds:g}s: cannot "
        f"reach {peers or 'the other workers'}; start every worker of TF_CONFIG"
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(seconds), message]
    )
    try:
        yield
    finally:
        watchdog.kill()
        watchdog.wait()


def configure_coordination(worker_timeout):
    """Sets up TensorFlow's coordination service as MultiWorkerMirroredStrategy would (leader: the
    chief, else worker 0; every chief and worker task coordinated), with the heartbeat and
    registration timeouts bounded by `worker_timeout`: a dead peer then aborts the collectives
    with an UnavailableError naming it instead of leaving the others waiting for ever."""
    context = tf_compat.eager_context()
    if context.coordination_service is not None:
        return
    cluster = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
    jobs = [job for job in ("chief", "worker") if job in cluster.jobs]
    if not jobs:
        return
    milliseconds = max(1, int(worker_timeout * 1000))
    context.configure_coordination_service(
        service_type="standalone",
        service_leader=f"/job:{jobs[0]}/replica:0/task:0",
        cluster_register_timeout_in_ms=milliseconds,
        heartbeat_timeout_in_ms=milliseconds,
        coordinated_jobs=[tf_compat.coordinated_job(job, cluster.num_tasks(job)) for job in jobs],
    )


def task(strategy):
    """(task type, task index) of this process in its cluster; ('worker', 0) without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return ("worker", 0)
    return (resolver.task_type, resolver.task_id)


def describe(strategy):
    """The user-facing name of a strategy (TF's class for MultiWorkerMirrored is
    CollectiveAllReduce)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return f"MultiWorkerMirroredStrategy, {num_workers(strategy)} worker(s)"
    return type(strategy).__name__


def num_workers(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 1
    spec = resolver.cluster_spec().as_dict()
    return len(spec.get("worker", [])) + len(spec.get("chief", []))


def worker_index(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0
    task = resolver.task_type, resolver.task_id
    spec = resolver.cluster_spec().as_dict()
    chiefs = len(spec.get("chief", []))
    return task[1] if task[0] == "chief" else chiefs + task[1]


def replica_slice(x: tf.Tensor, replica, num_replicas: int, group_size: int) -> tf.Tensor:
    """This replica's share of a (per-worker) global batch, chosen so minibatch-stddev groups match.

    MinibatchStdDev groups sample n with the samples n ± k·(N/G) (stride grouping). Viewing the
    batch as [G, N/G, ...] and giving each replica a contiguous slice of the second axis keeps every
    group whole and in order, so N replicas compute exactly what one replica would. `group_size`
    is the group the step uses (`layers.mbstd_group` of the per-replica batch).
    """
    if num_replicas == 1:
        return x
    shape = tf.shape(x)
    n = shape[0]
    grouped = tf.reshape(x, tf.concat([[group_size, n // group_size], shape[1:]], axis=0))
    per = n // group_size // num_replicas
    part = grouped[:, replica * per : (replica + 1) * per]
    return tf.reshape(part, tf.concat([[-1], shape[1:]], axis=0))
