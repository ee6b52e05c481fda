"""Running a command's `main(argv)` in the test process, as its console entry point would."""


def run_main(main, capsys, argv):
    """(exit code, stdout, stderr) of `main(argv)`; argparse's usage errors raise SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
