"""Strategy choice, worker identity from a cluster spec, and group-preserving replica slices."""

import types

import pytest
import tensorflow as tf

from pgan_tf.training import distribute


def test_replica_slice_keeps_minibatch_groups():
    x = tf.range(16)
    parts = [distribute.replica_slice(x, r, 2, 4).numpy() for r in range(2)]
    # one replica, group 4: groups are {j, j+4, j+8, j+12}; each replica must hold whole groups
    assert parts[0].tolist() == [0, 1, 4, 5, 8, 9, 12, 13]
    assert parts[1].tolist() == [2, 3, 6, 7, 10, 11, 14, 15]
    assert distribute.replica_slice(x, 0, 1, 4) is x


def test_auto_strategy_mirrors_the_split_cpu(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribute.make_strategy("auto")  # conftest split the CPU in two
    assert strategy.num_replicas_in_sync == 2
    assert distribute.describe(strategy) == "MirroredStrategy"
    assert distribute.num_workers(strategy) == 1 and distribute.worker_index(strategy) == 0
    assert distribute.make_strategy("default").num_replicas_in_sync == 1


def test_bad_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: nope")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.make_strategy("auto")


@pytest.mark.parametrize("task, index", [(("chief", 0), 0), (("worker", 0), 1), (("worker", 1), 2)])
def test_worker_index_counts_the_chief_first(task, index):
    spec = tf.train.ClusterSpec(
        {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"]}
    )
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        spec, task_type=task[0], task_id=task[1]
    )
    strategy = types.SimpleNamespace(cluster_resolver=resolver)  # only the resolver is read
    assert distribute.num_workers(strategy) == 3
    assert distribute.worker_index(strategy) == index
