"""The tf.data reader: inspect, make_dataset (pixels, labels, shuffle, sharding),
iterate_uint8, and clear errors for incomplete directories."""

import os
import shutil
import weakref

import numpy as np
import pytest
import tensorflow as tf
from dataset_helpers import random_images, reference_levels

from pgan_tf.data import dataset
from pgan_tf.data.dataset import DatasetError, DatasetInfo
from pgan_tf.data.tfrecord_format import DatasetWriter, tfrecord_filename

N = 37


@pytest.fixture(scope="module")
def ds_dir(tmp_path_factory):
    """37 random 16×16 RGB images with 5-class labels, in record order 0..36."""
    path = str(tmp_path_factory.mktemp("data") / "rand")
    images = random_images(N, 16, 3, seed=7)
    labels = np.eye(5, dtype=np.float32)[np.arange(N) % 5]
    with DatasetWriter(path) as w:
        w.add_images(images)
        w.add_labels(labels)
        w.commit()
    return path, images, labels


def _all(ds):
    out = [b for b in ds.as_numpy_iterator()]
    if isinstance(out[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*out))
    return np.concatenate(out)


def test_inspect(ds_dir):
    path, _, _ = ds_dir
    assert dataset.inspect(path) == DatasetInfo(
        path=path,
        name="rand",
        resolutions=(4, 8, 16),
        max_resolution=16,
        num_channels=3,
        num_images=N,
        label_size=5,
    )


def test_inspect_a_renamed_directory_and_grayscale(tmp_path):
    # The files keep the name of the directory they were written to, as with the original reader.
    images = random_images(5, 8, 1)
    with DatasetWriter(str(tmp_path / "orig")) as w:
        w.add_images(images)
        w.commit()
    os.rename(tmp_path / "orig", tmp_path / "moved")
    info = dataset.inspect(str(tmp_path / "moved"))
    assert (info.name, info.num_channels, info.num_images, info.label_size) == ("orig", 1, 5, 0)
    got = next(dataset.iterate_uint8(str(tmp_path / "moved"), 8, 10))
    np.testing.assert_array_equal(got, images)


@pytest.mark.parametrize("res", [4, 8, 16])
def test_make_dataset_pixels_in_file_order(ds_dir, res):
    path, images, labels = ds_dir
    want = reference_levels(images)[res].astype(np.float32) / 127.5 - 1
    got = _all(
        dataset.make_dataset(path, res, 8, shuffle=False, repeat=False, drop_remainder=False)
    )
    assert got.dtype == np.float32 and got.shape == (N, res, res, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert got.min() >= -1 and got.max() <= 1
    x, y = _all(
        dataset.make_dataset(
            path, res, 8, labels=True, shuffle=False, repeat=False, drop_remainder=False
        )
    )
    np.testing.assert_allclose(x, want, atol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_iterate_uint8(ds_dir):
    path, images, _ = ds_dir
    batches = list(dataset.iterate_uint8(path, 8, 10))
    assert [len(b) for b in batches] == [10, 10, 10, 7]
    assert batches[0].dtype == np.uint8
    np.testing.assert_array_equal(np.concatenate(batches), reference_levels(images)[8])
    assert sum(len(b) for b in dataset.iterate_uint8(path, 16, 10, max_images=15)) == 15


def test_shuffle_keeps_labels_with_their_images_and_is_seeded(ds_dir):
    path, images, labels = ds_dir
    ds = dataset.make_dataset(
        path, 16, 5, labels=True, shuffle=True, seed=3, repeat=False, drop_remainder=False
    )
    x, y = _all(ds)
    as_u8 = np.rint((x + 1) * 127.5).astype(np.uint8)
    index = [int(np.flatnonzero((images == img).all(axis=(1, 2, 3)))[0]) for img in as_u8]
    assert sorted(index) == list(range(N)) and index != list(range(N))
    np.testing.assert_array_equal(y, labels[index])
    x2, _ = _all(
        dataset.make_dataset(
            path, 16, 5, labels=True, shuffle=True, seed=3, repeat=False, drop_remainder=False
        )
    )
    np.testing.assert_array_equal(x, x2)


def test_batches_repeat_and_drop_remainder(ds_dir):
    path, _, _ = ds_dir
    shapes = [
        b.shape[0] for b in dataset.make_dataset(path, 4, 10, repeat=False).as_numpy_iterator()
    ]
    assert shapes == [10, 10, 10]
    ds = dataset.make_dataset(path, 4, 16)  # repeats for ever
    assert ds.element_spec.shape.as_list() == [16, 4, 4, 3]
    assert sum(1 for _ in ds.take(10)) == 10


def test_input_context_shards_and_uses_the_per_replica_batch(ds_dir):
    path, images, _ = ds_dir
    want = reference_levels(images)[8].astype(np.float32) / 127.5 - 1
    ctx = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2
    )
    batches = list(
        dataset.make_dataset(
            path, 8, 8, input_context=ctx, shuffle=False, repeat=False, drop_remainder=False
        ).as_numpy_iterator()
    )
    assert batches[0].shape[0] == 4  # global 8 over 2 replicas
    np.testing.assert_allclose(np.concatenate(batches), want[1::2], atol=1e-6)


def test_works_with_a_distribution_strategy(ds_dir):
    path, _, _ = ds_dir
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    dist = strategy.distribute_datasets_from_function(
        lambda ctx: dataset.make_dataset(path, 8, 6, labels=True, input_context=ctx)
    )
    x, y = next(iter(dist))
    local = strategy.experimental_local_results(x)
    assert [t.shape.as_list() for t in local] == [[3, 8, 8, 3], [3, 8, 8, 3]]
    assert strategy.experimental_local_results(y)[0].shape.as_list() == [3, 5]


def test_errors_for_incomplete_or_foreign_directories(ds_dir, tmp_path):
    path, _, _ = ds_dir
    with pytest.raises(DatasetError, match="no such dataset directory"):
        dataset.inspect(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no <name>-rKK.tfrecords"):
        dataset.inspect(str(tmp_path / "empty"))
    broken = tmp_path / "rand"
    shutil.copytree(path, broken)
    os.remove(tfrecord_filename(str(broken), 3))
    with pytest.raises(
        DatasetError, match=r"rand-r03\.tfrecords: missing: a dataset needs every level"
    ):
        dataset.inspect(str(broken))
    shutil.rmtree(broken)
    shutil.copytree(path, broken)
    level = tfrecord_filename(str(broken), 4)
    with open(level, "r+b") as f:  # a truncated last record
        f.truncate(os.path.getsize(level) - 100)
    with pytest.raises(DatasetError, match=r"rand-r04\.tfrecords: truncated"):
        dataset.inspect(str(broken))
    shutil.rmtree(broken)
    shutil.copytree(path, broken)
    np.save(open(broken / "rand-rxx.labels", "wb"), np.zeros((3, 5), np.float32))
    with pytest.raises(
        DatasetError, match=r"rand-rxx\.labels: labels have shape \(3, 5\), expected \[37"
    ):
        dataset.inspect(str(broken))
    with pytest.raises(DatasetError, match="no 32x32 level"):
        dataset.make_dataset(path, 32, 4)


def test_labels_requested_without_labels_file(tmp_path):
    with DatasetWriter(str(tmp_path / "d")) as w:
        w.add_images(random_images(4, 4))
        w.commit()
    with pytest.raises(DatasetError, match="no -rxx.labels"):
        dataset.make_dataset(str(tmp_path / "d"), 4, 2, labels=True)


def test_count_records_walks_headers_when_records_differ_in_size(tmp_path):
    path = str(tmp_path / "x.tfrecords")
    with tf.io.TFRecordWriter(path) as w:
        for n in (5, 17, 3, 200):
            w.write(b"x" * n)
    assert dataset.count_records(path) == 4
    with tf.io.TFRecordWriter(path) as w:
        for _ in range(7):
            w.write(b"y" * 10)
    assert dataset.count_records(path) == 7


def test_release_in_background_deletes_the_iterator_on_another_thread(ds_dir):
    it = iter(dataset.make_dataset(ds_dir[0], 8, 4, seed=0))
    next(it)
    alive = weakref.ref(it)
    spent = [it]
    del it
    thread = dataset.release_in_background(spent)
    thread.join(timeout=30)
    assert not thread.is_alive() and thread.daemon
    assert spent == [] and alive() is None


def _stream(ds, n):
    return np.concatenate([b for b in ds.take(n).as_numpy_iterator()])


@pytest.mark.parametrize("shuffle", [True, False])
def test_the_stream_after_start_batch_continues_the_stream_from_the_start(ds_dir, shuffle):
    """What a checkpoint stores of the input: resuming at batch k reads exactly what the run
    would have read next, across epoch boundaries (37 records, batches of 8)."""
    path = ds_dir[0]

    def make(start):
        return dataset.make_dataset(
            path, 8, 8, shuffle=shuffle, shuffle_buffer=16, seed=3, start_batch=start
        )

    whole = _stream(make(0), 20)
    for start in (1, 4, 5, 9, 14):
        np.testing.assert_array_equal(_stream(make(start), 20 - start), whole[8 * start :])
    epoch = np.rint((whole[:N] + 1) * 127.5).astype(np.uint8).reshape(N, -1)
    original = reference_levels(ds_dir[1])[8].reshape(N, -1)
    assert sorted(map(bytes, epoch)) == sorted(map(bytes, original))  # an epoch is a permutation
    if shuffle:  # each epoch in an order of its own
        assert not np.array_equal(whole[:32], whole[N : N + 32])
    else:
        np.testing.assert_array_equal(epoch, original)


def test_start_batch_with_shards_counts_the_shards_records(ds_dir):
    path = ds_dir[0]
    ctx = tf.distribute.InputContext(2, 1, num_replicas_in_sync=2)

    def make(start):
        return dataset.make_dataset(path, 4, 6, seed=5, input_context=ctx, start_batch=start)

    whole = _stream(make(0), 16)  # shard 1 holds 18 records, batches of 3
    np.testing.assert_array_equal(_stream(make(7), 9), whole[21:])
