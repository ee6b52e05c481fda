"""Every command follows one convention: `python -m pgan_tf.<command>` with `main(argv) -> int`,
the flags of pgan_tf.core.cli, `--help`, and the README's exit codes (0, 1 failed, 2 usage or
configuration, 130 Ctrl-C)."""

import importlib
import inspect
import os
import signal
import socket
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = (
    "train",
    "evaluate",
    "generate",
    "serving_rest",
    "import_official",
    "create_tfrecords",
    "export_saved_model",
)


@pytest.mark.parametrize("name", COMMANDS)
def test_main_takes_argv_and_answers_help(name, capsys):
    module = importlib.import_module(f"pgan_tf.{name}")
    assert list(inspect.signature(module.main).parameters) == ["argv"]
    assert inspect.signature(module.main).parameters["argv"].default is None
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: ") and "--flagfile FILE" in out


@pytest.mark.parametrize("name", COMMANDS)
def test_an_unknown_flag_is_one_line_and_exit_2(name, capsys):
    module = importlib.import_module(f"pgan_tf.{name}")
    with pytest.raises(SystemExit) as e:
        module.main(["--no_such_flag=1"])
    err = capsys.readouterr().err.splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith("error: "), err


def _default_sigint():
    """In the child before exec: Ctrl-C as in a terminal. A suite started in the background
    (`cmd &` in a script) ignores SIGINT, every child inherits that, and Python then leaves it
    ignored: the server would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _serve(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "pgan_tf.serving_rest", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def test_serving_rest_exit_codes(tmp_path):
    """2 for a directory without versions, 1 for a port it cannot bind, 130 after Ctrl-C."""
    serve = [sys.executable, "-m", "pgan_tf.serving_rest", f"--model_base_path={tmp_path}"]
    bad = subprocess.run(serve, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr == f"error: no <version>/saved_model.pb under {tmp_path}\n"
    os.makedirs(tmp_path / "1")
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"")  # versions are listed, loaded on request
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            serve + ["--port", str(port)], cwd=REPO, capture_output=True, text=True, timeout=120
        )
    assert busy.returncode == 1
    assert busy.stderr.startswith(f"error: cannot serve at 127.0.0.1:{port}: ")
    server = _serve(f"--model_base_path={tmp_path}", "--port=0")
    assert server.stdout.readline().startswith("serving pgan at http://127.0.0.1:")
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=60) == 130


def test_flag_files_work_for_every_command(tmp_path):
    """--flagfile is the library's, so a command other than train takes one too."""
    flagfile = tmp_path / "serve.flags"
    flagfile.write_text(f"# where the model is\n--model_base_path={tmp_path}/none\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pgan_tf.serving_rest", f"--flagfile={flagfile}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"error: no <version>/saved_model.pb under {tmp_path}/none\n"
