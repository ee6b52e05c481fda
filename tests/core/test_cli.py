"""The flag library: absl's flag syntax read by argparse, checked against absl itself (the
library the commands used before, still installed with TensorFlow), and the usage errors."""

import pytest
from absl import flags as absl_flags

from pgan_tf.core import cli


def _ours():
    p = cli.ArgumentParser(prog="t")
    p.add_argument("--name", default="none", help="a string")
    p.add_argument("--count", type=cli.integer, default=1, help="an int")
    p.add_argument("--rate", type=float, default=0.5, help="a float")
    p.add_bool("--mirror", default=False, help="a boolean, off by default")
    p.add_bool("--growing", default=True, help="a boolean, on by default")
    p.add_list("--metrics", default=[], help="a list")
    p.add_argument("--loss", choices=("a", "b"), default="a", help="an enum")
    return p


def _absl():
    fv = absl_flags.FlagValues()
    absl_flags.DEFINE_string("name", "none", "", flag_values=fv)
    absl_flags.DEFINE_integer("count", 1, "", flag_values=fv)
    absl_flags.DEFINE_float("rate", 0.5, "", flag_values=fv)
    absl_flags.DEFINE_bool("mirror", False, "", flag_values=fv)
    absl_flags.DEFINE_bool("growing", True, "", flag_values=fv)
    absl_flags.DEFINE_list("metrics", [], "", flag_values=fv)
    absl_flags.DEFINE_enum("loss", "a", ["a", "b"], "", flag_values=fv)
    return fv


NAMES = ("name", "count", "rate", "mirror", "growing", "metrics", "loss")


def both(argv):
    """(ours, absl's) values of every flag after parsing argv."""
    args = _ours().parse_args(argv)
    fv = _absl()
    fv(["prog", *argv])
    return {n: getattr(args, n) for n in NAMES}, {n: fv[n].value for n in NAMES}


def write(path, *lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Flag files with comments, blank lines and a nested --flagfile (relative to the cwd, as
    absl reads them)."""
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "inner.flags",
        "# the inner file",
        "--count=7",
        "--metrics=swd,ms_ssim",
        "--nogrowing",
    )
    write(
        tmp_path / "outer.flags",
        "# a comment",
        "// another comment",
        "",
        "   ",
        "--name=from file",
        "--count=3",
        "--flagfile=inner.flags",
        "--rate",
        "0.25",
        "--mirror",
        "--loss=b",
    )
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--flagfile=outer.flags"],
        ["--count=9", "--flagfile=outer.flags"],  # the file, later, wins
        ["--flagfile=outer.flags", "--count=9", "--nomirror", "--growing"],  # flags after it win
        ["--flagfile", "outer.flags", "--name", "x y"],
        ["--flagfile=inner.flags", "--flagfile=outer.flags", "--flagfile=inner.flags"],
        ["--flagfile=", "--count=0x10", "--rate=1e-3"],
        ["--mirror=true", "--growing=0"],
        ["--mirror=1", "--growing=F"],
        ["--mirror=T", "--growing=false"],
        ["--metrics=swd, ms_ssim ,fid"],
        ["--metrics=swd", "--metrics="],
        ["--metrics", "a,b"],
        ["--name", "-dash", "--count", "-3"],
        ["--name=a=b"],
        ["-count=4", "-mirror"],
    ],
)
def test_parses_as_absl_does(files, argv):
    ours, theirs = both(argv)
    assert ours == theirs


def test_flag_file_values(files):
    args = _ours().parse_args(["--flagfile=outer.flags", "--rate=2"])
    got = (args.name, args.count, args.rate, args.mirror, args.growing, args.metrics, args.loss)
    assert got == ("from file", 7, 2.0, True, False, ["swd", "ms_ssim"], "b")


def test_flag_file_with_home_and_nothing_after_comments(files, monkeypatch):
    monkeypatch.setenv("HOME", str(files))
    write(files / "only-comments.flags", "# nothing", "// here")
    args = _ours().parse_args(["--flagfile=~/inner.flags", "--flagfile=only-comments.flags"])
    assert args.count == 7


def usage_error(capsys, argv, parser=None):
    with pytest.raises(SystemExit) as e:
        (parser or _ours()).parse_args(argv)
    out, err = capsys.readouterr()
    assert e.value.code == cli.USAGE == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--unknown=1"], "error: unrecognized arguments: --unknown=1"),
        (["--coun=1"], "error: unrecognized arguments: --coun=1"),  # no abbreviations
        (["stray"], "error: unrecognized arguments: stray"),
        (["--count=x"], "error: argument --count: invalid integer value: 'x'"),
        (["--mirror=maybe"], "error: argument --mirror: expected true/false/1/0, got 'maybe'"),
        (["--nomirror=1"], "error: argument --mirror/--nomirror: ignored explicit argument '1'"),
        (["--loss=c"], "error: argument --loss: invalid choice: 'c' (choose from 'a', 'b')"),
        (["--name"], "error: argument --name: expected one argument"),
        (["--flagfile"], "error: --flagfile needs a file name"),
        (["--flagfile=absent.flags"], "error: --flagfile=absent.flags: No such file or directory"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(files, capsys, argv, message):
    assert usage_error(capsys, argv) == message


def test_a_flag_file_including_itself_is_refused(files, capsys):
    write(files / "a.flags", "--count=1", "--flagfile=b.flags")
    write(files / "b.flags", "--flagfile=./a.flags")
    assert usage_error(capsys, ["--flagfile=a.flags"]) == (
        "error: --flagfile=./a.flags includes itself: a.flags -> b.flags -> ./a.flags"
    )


def test_help_lists_every_flag(capsys):
    with pytest.raises(SystemExit) as e:
        _ours().parse_args(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for flag in (
        "--flagfile FILE",
        "--name NAME",
        "--mirror, --nomirror",
        "--growing, --nogrowing",
        "--metrics METRICS",
    ):
        assert flag in out


def test_store_true_is_a_boolean_and_aliases_are_hidden(capsys):
    p = cli.ArgumentParser(prog="t")
    p.add_argument("--overwrite", action="store_true", help="replace")
    p.add_argument("--num_images", type=int, default=16, help="count")
    p.add_alias("--num", "--num_images")
    p.add_bool("--gif", default=True, help="animate")
    p.add_alias("--no-gif", "--nogif")
    assert vars(p.parse_args([])) == {"overwrite": False, "num_images": 16, "gif": True}
    assert vars(p.parse_args(["--overwrite=true", "--num", "3", "--no-gif"])) == {
        "overwrite": True,
        "num_images": 3,
        "gif": False,
    }
    assert p.parse_args(["--num=3", "--num_images=5", "--gif=0", "--gif"]).num_images == 5
    p.print_help()
    out = capsys.readouterr().out
    assert "--num_images" in out and "--num " not in out and "--no-gif" not in out


def test_subcommands_read_their_own_flags(files, capsys):
    p = cli.ArgumentParser(prog="t")
    sub = p.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make")
    make.add_argument("target")
    make.add_argument("--overwrite", action="store_true")
    make.add_argument("--resolution", type=int, default=32)
    write(files / "make.flags", "--resolution", "8")
    args = p.parse_args(["make", "out", "--overwrite=1", "--flagfile=make.flags"])
    assert (args.command, args.target, args.overwrite, args.resolution) == ("make", "out", True, 8)
    assert usage_error(capsys, ["make"], p) == "error: the following arguments are required: target"


def test_parse_values():
    values = ("TRUE", "t", "1", "False", "f", "0")
    assert [cli.parse_bool(t) for t in values] == [True] * 3 + [False] * 3
    assert [cli.integer(t) for t in ("0x10", "0o10", "010", "-5")] == [16, 8, 10, -5]
    for text in ('a,"b,c", d', 'a, "b,c" ,d', "", " x ", "a,,b"):
        assert cli.comma_list(text) == absl_flags.ListParser().parse(text)
    assert cli.comma_list('a,"b,c", d') == ["a", "b,c", "d"]


def test_fail_prints_the_first_line(capsys):
    assert cli.fail(ValueError("bad thing\nmore detail"), cli.USAGE) == 2
    assert capsys.readouterr().err == "error: bad thing\n"


def test_nothing_is_defined_at_import():
    """Command modules build their parsers when called: importing one defines no global flags."""
    import pgan_tf.evaluate  # noqa: F401
    import pgan_tf.train  # noqa: F401

    assert not {"run_dir", "dataset_dir", "metrics", "num_images"} & set(absl_flags.FLAGS)
