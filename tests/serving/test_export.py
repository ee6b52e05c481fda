"""SavedModel export for TF Serving: signatures, exactness, warmup, versions, clean failure."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from export_helpers import TINY, TINY_COND, keras_uint8, tiny_generator, tree

from pgan_tf.model import networks
from pgan_tf.serving import export

VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    g = tiny_generator()
    return g, export.export_generator(g, str(base), "pgan"), str(base)


def test_layout_and_result(exported):
    g, result, base = exported
    assert result.version == 1
    assert result.path == os.path.join(base, "pgan", "1")
    assert sorted(os.listdir(os.path.join(base, "pgan"))) == ["1"]
    assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(result.path))
    assert result.max_abs_diff == 0
    assert result.warmup == os.path.join(result.path, "assets.extra", "tf_serving_warmup_requests")
    assert result.signatures == {
        "generate_png": {
            "inputs": {"latents": ("float32", [-1, 16])},
            "outputs": {"images_bytes": ("string", [-1])},
        },
        "serving_default": {
            "inputs": {"latents": ("float32", [-1, 16])},
            "outputs": {"images": ("uint8", [-1, 8, 8, 3])},
        },
    }


def _cli_signatures(text):
    """{signature: {"inputs"|"outputs": {name: (dtype, shape)}}} parsed from saved_model_cli show
    --all."""
    sigs = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block.split("'", 1)[0]
        sig = {"inputs": {}, "outputs": {}}
        for kind, key, dtype, shape in re.findall(
            r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([^)]*)\)", block
        ):
            sig[kind][key] = (dtype, shape.replace(" ", ""))
        sigs[name] = sig
    return sigs


def test_saved_model_cli_lists_signatures(exported):
    _, result, _ = exported
    out = subprocess.run(
        [os.path.join(VENV_BIN, "saved_model_cli"), "show", "--dir", result.path, "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sigs = _cli_signatures(out)
    assert sigs["serving_default"] == {
        "inputs": {"latents": ("DT_FLOAT", "-1,16")},
        "outputs": {"images": ("DT_UINT8", "-1,8,8,3")},
    }
    assert sigs["generate_png"] == {
        "inputs": {"latents": ("DT_FLOAT", "-1,16")},
        "outputs": {"images_bytes": ("DT_STRING", "-1")},
    }
    assert "Method name is: tensorflow/serving/predict" in out


def test_loaded_model_equals_keras(exported):
    g, result, _ = exported
    loaded = tf.saved_model.load(result.path)
    z = np.random.RandomState(42).randn(5, 16).astype(np.float32)
    expected = keras_uint8(g, z)
    assert expected.std() > 5  # the images are not flat: the comparison means something
    got = loaded.signatures["serving_default"](latents=tf.constant(z))["images"].numpy()
    assert got.dtype == np.uint8 and got.shape == (5, 8, 8, 3)
    np.testing.assert_array_equal(got, expected)
    pngs = loaded.signatures["generate_png"](latents=tf.constant(z))["images_bytes"].numpy()
    assert len(pngs) == 5 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    np.testing.assert_array_equal(np.stack([tf.io.decode_png(p).numpy() for p in pngs]), expected)
    one = loaded.signatures["serving_default"](latents=tf.constant(z[:1]))["images"].numpy()
    np.testing.assert_array_equal(one, expected[:1])


def test_warmup_file_parses_and_runs(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    g, result, _ = exported
    logs = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(result.warmup)
    ]
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "predict_log"]
    loaded = tf.saved_model.load(result.path)
    for log, batch in zip(logs, export.WARMUP_BATCH_SIZES):
        request = log.predict_log.request
        assert request.model_spec.name == "pgan"
        assert request.model_spec.signature_name == "serving_default"
        assert list(request.inputs) == ["latents"]
        z = tf.make_ndarray(request.inputs["latents"])
        assert z.dtype == np.float32 and z.shape == (batch, 16)
        out = loaded.signatures[request.model_spec.signature_name](latents=tf.constant(z))[
            "images"
        ].numpy()
        np.testing.assert_array_equal(out, keras_uint8(g, z))


def test_fading_generator_exports_its_alpha(tmp_path):
    """A snapshot taken during a fade-in carries α in a variable; the export keeps it."""
    g = networks.build_generator(TINY, 16, fade_in=True)
    g.set_weights([w + 0.1 for w in g.get_weights()])
    networks.set_alpha(g, 0.3)
    result = export.export_generator(g, str(tmp_path), "pgan", warmup=False)
    z = np.random.RandomState(2).randn(4, 16).astype(np.float32)
    got = (
        tf.saved_model.load(result.path)
        .signatures["serving_default"](latents=tf.constant(z))["images"]
        .numpy()
    )
    np.testing.assert_array_equal(got, keras_uint8(g, z))
    networks.set_alpha(g, 1.0)
    assert np.abs(keras_uint8(g, z).astype(int) - got).max() > 0  # α = 0.3 was baked in, not 1.0


def test_conditional_export(tmp_path):
    g = tiny_generator(TINY_COND)
    result = export.export_generator(g, str(tmp_path), "cond")
    assert result.signatures["serving_default"]["inputs"] == {
        "latents": ("float32", [-1, 16]),
        "labels": ("float32", [-1, 3]),
    }
    loaded = tf.saved_model.load(result.path)
    sig = loaded.signatures["serving_default"]
    z = np.random.RandomState(1).randn(3, 16).astype(np.float32)
    y0 = np.eye(3, dtype=np.float32)[[0, 0, 0]]
    y2 = np.eye(3, dtype=np.float32)[[2, 2, 2]]
    a = sig(latents=tf.constant(z), labels=tf.constant(y0))["images"].numpy()
    b = sig(latents=tf.constant(z), labels=tf.constant(y2))["images"].numpy()
    np.testing.assert_array_equal(a, keras_uint8(g, z, y0))
    np.testing.assert_array_equal(b, keras_uint8(g, z, y2))
    assert np.abs(a.astype(int) - b).max() > 0  # the labels reach the image
    requests = export.read_warmup_requests(result.warmup)
    assert [sorted(r) for _, r in requests] == [["labels", "latents"]] * 2
    for _, r in requests:
        assert np.all(r["labels"].sum(axis=1) == 1)


def test_versions_auto_increment_refuse_and_overwrite(tmp_path):
    base = str(tmp_path)
    g1, g2 = tiny_generator(seed=1), tiny_generator(seed=2)
    assert export.export_generator(g1, base, "m", warmup=False).version == 1
    assert export.export_generator(g1, base, "m", warmup=False).version == 2
    assert export.export_generator(g1, base, "m", version=7, warmup=False).version == 7
    os.makedirs(os.path.join(base, "m", "not-a-version"))
    assert export.export_generator(g1, base, "m", warmup=False).version == 8
    before = tree(base)
    with pytest.raises(export.ExportError, match="version 7 already exists"):
        export.export_generator(g2, base, "m", version=7)
    assert tree(base) == before

    z = np.random.RandomState(3).randn(4, 16).astype(np.float32)
    result = export.export_generator(g2, base, "m", version=7, overwrite=True, warmup=False)
    assert result.version == 7
    assert sorted(os.listdir(os.path.join(base, "m"))) == ["1", "2", "7", "8", "not-a-version"]
    got = (
        tf.saved_model.load(result.path)
        .signatures["serving_default"](latents=tf.constant(z))["images"]
        .numpy()
    )
    np.testing.assert_array_equal(got, keras_uint8(g2, z))
    assert np.abs(keras_uint8(g1, z).astype(int) - got).max() > 0


def test_warmup_skipped_without_serving_api(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    result = export.export_generator(tiny_generator(), str(tmp_path), "pgan")
    assert result.warmup is None
    assert result.warmup_note.startswith("warmup skipped: tensorflow-serving-api is not installed")
    assert not os.path.exists(os.path.join(result.path, "assets.extra"))
    assert result.max_abs_diff == 0
    result = export.export_generator(tiny_generator(), str(tmp_path), "pgan", warmup=False)
    assert (result.warmup, result.warmup_note) == (None, "warmup skipped: disabled")


def test_failed_verification_leaves_nothing_behind(tmp_path):
    """A model whose graph differs from its eager output (random noise) fails verification:
    the temporary version directory and the directories the export created are removed."""
    latents = keras.Input((16,), name="latents")
    x = keras.layers.Dense(8 * 8 * 3)(latents)
    x = keras.layers.Lambda(lambda t: t + tf.random.uniform(tf.shape(t), -1.0, 1.0))(x)
    noisy = keras.Model(latents, keras.layers.Reshape((8, 8, 3))(x))
    base = tmp_path / "new" / "exports"
    with pytest.raises(export.ExportError, match="verification failed"):
        export.export_generator(noisy, str(base), "pgan", warmup=False)
    assert os.listdir(tmp_path) == []

    export.export_generator(tiny_generator(), str(tmp_path), "pgan", warmup=False)
    before = tree(str(tmp_path))
    with pytest.raises(export.ExportError):
        export.export_generator(noisy, str(tmp_path), "pgan", warmup=False)
    assert tree(str(tmp_path)) == before


def test_rejects_bad_generator_and_names(tmp_path):
    z = keras.Input((4,), name="z")
    wrong = keras.Model(z, keras.layers.Reshape((2, 2, 1))(z))
    with pytest.raises(export.ExportError, match=r"generator inputs must be \['latents'\]"):
        export.export_generator(wrong, str(tmp_path), "pgan")
    for name in ("", ".hidden", "a/b"):
        with pytest.raises(export.ExportError, match="invalid model name"):
            export.export_generator(tiny_generator(), str(tmp_path), name)
    with pytest.raises(export.ExportError, match="positive"):
        export.export_generator(tiny_generator(), str(tmp_path), "pgan", version=0)
    assert os.listdir(tmp_path) == []


def test_export_keras_round_trip(tmp_path):
    g = tiny_generator(TINY_COND)
    path = export.export_keras(g, str(tmp_path / "sub" / "g.keras"))
    assert sorted(os.listdir(tmp_path / "sub")) == ["g.keras"]
    back = keras.saving.load_model(path, compile=False)
    z = np.random.RandomState(0).randn(2, 16).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1]]
    np.testing.assert_array_equal(back([z, y]).numpy(), g([z, y]).numpy())
    with pytest.raises(export.ExportError, match="already exists"):
        export.export_keras(g, path)
    with pytest.raises(export.ExportError, match="must end in .keras"):
        export.export_keras(g, str(tmp_path / "g.h5"))


def test_saved_model_loads_without_pgan_tf(exported):
    """A fresh interpreter in which `import pgan_tf` is impossible loads and runs the export."""
    g, result, _ = exported
    z = np.random.RandomState(5).randn(3, 16).astype(np.float32)
    code = (
        "import sys, json, numpy as np\n"
        "sys.modules['pgan_tf'] = None\n"
        "import tensorflow as tf\n"
        f"m = tf.saved_model.load({result.path!r})\n"
        f"z = np.array({z.tolist()!r}, dtype=np.float32)\n"
        "out = m.signatures['serving_default'](latents=tf.constant(z))['images'].numpy()\n"
        "assert not any(k == 'pgan_tf' or k.startswith('pgan_tf.') "
        "for k, v in sys.modules.items() if v)\n"
        "print(json.dumps(out.tolist()))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]), dtype=np.uint8)
    np.testing.assert_array_equal(got, keras_uint8(g, z))


def test_pixel_agreement_allows_only_float_rounding():
    """One level on a few values (a float sum in another order crossing a rounding boundary) is
    accepted; two levels, or one level on many values, is an export bug."""
    expected = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    assert export.check_pixels_agree(expected, expected) == (0, 0.0)
    got = expected.copy()
    got[0, 0, 0, 0] += 1
    diff, fraction = export.check_pixels_agree(got, expected)
    assert diff == 1 and fraction == pytest.approx(1 / expected.size)
    got[0, 0, 0, 0] += 1
    with pytest.raises(export.ExportError, match="by up to 2"):
        export.check_pixels_agree(got, expected)
    many = expected.copy()
    many[0, :8] += 1
    with pytest.raises(export.ExportError, match="allowed: 1 on 0.1%"):
        export.check_pixels_agree(many, expected)
