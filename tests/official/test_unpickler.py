"""The restricted reader of the original's network pickles: data in, nothing executed."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from pgan_tf.official.unpickler import (
    NetworkState,
    OfficialPickleError,
    loads,
    read_network_pickle,
)
from tests.official_writer import v2_state, write_pickle

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "fixtures", "official")


class _Call:
    """Pickles as a call of `func(*args)` — what a malicious pickle does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _network_with(value):
    """A tfutil.Network state that hides `value` among its variables."""
    return v2_state("G", "G_paper", {"resolution": 4}, [("lod", np.float32(0)), ("x", value)])


def test_reads_the_original_pickle_as_data():
    g, d, gs = read_network_pickle(os.path.join(DATA, "tiny32.pkl"))
    assert [n.format for n in (g, d, gs)] == ["tfutil"] * 3
    assert [n.state["name"] for n in (g, d, gs)] == ["G", "D", "Gs"]
    names = [name for name, _ in g.state["variables"]]
    assert names[:3] == ["lod", "4x4/Dense/weight", "4x4/Dense/bias"]
    assert dict(g.state["variables"])["4x4/Dense/weight"].shape == (32, 512)


def test_os_system_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"
    data = pickle.dumps(_Call(os.system, f"touch {marker}"))
    with pytest.raises(
        OfficialPickleError, match=r"refused: the pickle names (posix|os)\.system.*nothing was run"
    ):
        loads(data)
    assert not marker.exists()


def test_eval_hidden_inside_a_network_state_is_refused(tmp_path):
    marker = tmp_path / "ran"
    payload = _Call(eval, f"open({str(marker)!r}, 'w').write('x')")
    path = tmp_path / "evil.pkl"
    write_pickle(path, [_network_with(payload)] * 3)
    with pytest.raises(OfficialPickleError, match=r"builtins\.eval"):
        read_network_pickle(str(path))
    assert not marker.exists()


def test_a_module_of_the_pickles_own_is_never_imported(tmp_path):
    """A module whose import has a side effect, reachable on sys.path: the reader must not import
    it."""
    marker = tmp_path / "imported"
    (tmp_path / "pgan_evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\ndef hook(): pass\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import pgan_evil_module

        os.remove(marker)
        data = pickle.dumps(_Call(pgan_evil_module.hook))
        del sys.modules["pgan_evil_module"]
        with pytest.raises(OfficialPickleError, match=r"pgan_evil_module\.hook"):
            loads(data)
        assert not marker.exists()
        assert "pgan_evil_module" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("pgan_evil_module", None)


def test_the_command_refuses_a_malicious_pickle_in_one_line(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Call(subprocess.call, ["touch", str(marker)])))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgan_tf.import_official",
            str(path),
            "--run_dir",
            str(tmp_path / "run"),
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused: the pickle names subprocess.call" in errors[0], (
        proc.stderr
    )
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_object_arrays_and_foreign_objects_are_refused(tmp_path):
    with pytest.raises(OfficialPickleError, match="Python objects"):
        loads(pickle.dumps(np.array([1, "a"], dtype=object)))
    path = tmp_path / "dict.pkl"
    path.write_bytes(pickle.dumps({"G": 1}))
    with pytest.raises(OfficialPickleError, match="tuple .G, D, Gs."):
        read_network_pickle(str(path))


def test_not_a_pickle_is_one_clear_error(tmp_path):
    with pytest.raises(OfficialPickleError, match="not a readable network pickle"):
        loads(b"PK\x03\x04 this is a zip")
    with pytest.raises(OfficialPickleError, match="cannot read"):
        read_network_pickle(str(tmp_path / "missing.pkl"))


def test_theano_era_pickles_of_python_2_protocols_read(tmp_path):
    """Protocol 0 goes through copyreg._reconstructor (copy_reg in Python 2 pickles)."""
    state = {
        "build_func_spec": {"func": "G_paper"},
        "param_values": [np.arange(3, dtype=np.float32)],
    }
    for protocol in (0, 2):
        path = tmp_path / f"theano{protocol}.pkl"
        write_pickle(path, [state] * 3, fmt="theano", protocol=protocol)
        nets = read_network_pickle(str(path))
        assert all(isinstance(n, NetworkState) and n.format == "theano" for n in nets)
        np.testing.assert_array_equal(nets[0].state["param_values"][0], [0, 1, 2])
