"""Running the project's commands in tests: a command's `main(argv)` in the test process, as its
console entry point would, and a free loopback port for a server or worker command to bind."""

import socket


def run_main(main, capsys, argv):
    """(exit code, stdout, stderr) of `main(argv)`; argparse's usage errors raise SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def free_port():
    """A loopback TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
