"""Write-to-temp-then-rename and its one-line errors, with injected and real (tmpfs) disk-full."""

import errno
import os

import pytest
from fault_helpers import fill, small_filesystem

from pgan_tf.core import atomic


def test_replace_via_temp_writes_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.txt"
    atomic.write_text(str(path), "one")
    atomic.write_text(str(path), "two")
    assert path.read_text() == "two" and os.listdir(tmp_path) == ["a.txt"]


def test_injected_enospc_keeps_the_old_file_and_names_the_path(tmp_path):
    path = tmp_path / "grid.png"
    path.write_bytes(b"old")

    def failing(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(atomic.WriteError) as info:
        atomic.replace_via_temp(str(path), failing)
    assert str(info.value) == f"cannot write {path}: No space left on device (ENOSPC)"
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["grid.png"]


def test_tensorflow_file_errors_become_write_errors(tmp_path):
    import tensorflow as tf

    def failing(tmp):
        raise tf.errors.ResourceExhaustedError(None, None, f"{tmp}; No space left on device")

    with pytest.raises(
        atomic.WriteError, match=r"cannot write .*/x\.bin: No space left on device$"
    ):
        atomic.replace_via_temp(str(tmp_path / "x.bin"), failing)
    with pytest.raises(KeyError):  # anything else is not a write failure: it goes through unchanged
        with atomic.reported("p"):
            raise KeyError("k")


def test_temp_names():
    assert atomic.temp_name("/r/network-snapshot-000001.keras").endswith(
        f".tmp-{os.getpid()}.keras"
    )
    for name in (
        "fakes000000.png.tmp-12.png",
        "ckpt-64.tmp-7.index",
        "ckpt-64.tmp-7_temp",
        "ckpt-64.tmp-7.data-00000-of-00001",
        "config.json.tmp-3",
    ):
        assert atomic.is_temp_name(name), name
    for name in ("ckpt-64.index", "reals.png", "my.tmp-file.png", "log.txt"):
        assert not atomic.is_temp_name(name), name


def test_real_full_file_system(tmp_path):
    with small_filesystem(tmp_path / "small", "64k") as small:
        path = os.path.join(small, "out.bin")
        atomic.write_text(path, "kept")
        with pytest.raises(atomic.WriteError, match=r"No space left on device \(ENOSPC\)"):
            atomic.replace_via_temp(path, lambda tmp: open(tmp, "wb").write(b"x" * 200_000))
        assert open(path).read() == "kept" and sorted(os.listdir(small)) == ["out.bin"]
        fill(small)
        with pytest.raises(atomic.WriteError, match=f"cannot write {small}/other.txt: "):
            atomic.write_text(os.path.join(small, "other.txt"), "y" * 10000)


def test_any_failure_of_the_writer_removes_the_temporary_file(tmp_path):
    def failing(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyError("not a write failure")

    with pytest.raises(KeyError):
        atomic.replace_via_temp(str(tmp_path / "a.txt"), failing)
    assert os.listdir(tmp_path) == []


def test_temp_dir_is_installed_and_replaces_an_old_one(tmp_path):
    target = tmp_path / "out" / "ds"
    tmp = atomic.make_temp_dir(str(target))
    assert os.path.dirname(tmp) == str(tmp_path / "out")
    assert os.path.basename(tmp).startswith(".ds.tmp-")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp).st_mode & 0o777 == 0o777 & ~umask
    (tmp_path / tmp / "new").write_text("new")
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(OSError):  # without replace, an existing non-empty target stays
        atomic.install_dir(tmp, str(target))
    atomic.install_dir(tmp, str(target), replace=True)
    assert os.listdir(target) == ["new"] and os.listdir(tmp_path / "out") == ["ds"]


def test_failed_install_puts_the_old_directory_back(tmp_path):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(OSError):
        atomic.install_dir(str(tmp_path / "missing-tmp"), str(target), replace=True)
    assert os.listdir(target) == ["old"] and os.listdir(tmp_path) == ["ds"]


def test_temp_dir_failure_names_the_parent(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(atomic.WriteError, match=f"cannot write {blocker}: "):
        atomic.make_temp_dir(str(blocker / "ds"))
