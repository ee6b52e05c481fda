"""Settings declared once: a dataclass field's default, flag, help and check make the parser and
read the parsed values back."""

import dataclasses

import pytest

from pgan_tf.core import cli, settings
from pgan_tf.core.settings import setting


@dataclasses.dataclass(frozen=True)
class Example:
    path: str = setting(
        name="input_dir",
        flag_default=None,
        check=lambda v: None if v else "is required",
        help="Where.",
    )
    count: int = setting(3, check=settings.positive, help="How many.")
    rate: float = setting(0.5, help="How fast.")
    table: tuple = setting(
        (),
        flag_default="",
        parse=lambda t: settings.resolution_table(t, int, "table"),
        help="Per resolution.",
    )
    mirror: bool = setting(True, help="Flip.")
    names: tuple = setting((), is_list=True, parse=tuple, help="Some names.")
    kind: str = setting("a", choices=("a", "b"), help="One of two.")
    derived: int = 0  # not a flag


def _parse(*argv):
    p = cli.ArgumentParser(prog="t")
    settings.add_flags(p, Example)
    return Example(**settings.read(Example, p.parse_args(list(argv))))


def test_flags_come_from_the_fields():
    ex = _parse("--input_dir=x", "--count=0x10", "--table=8:2,4:1", "--nomirror", "--names=p,q")
    assert ex == Example(
        path="x", count=16, rate=0.5, table=((4, 1), (8, 2)), mirror=False, names=("p", "q")
    )
    assert _parse("--input_dir=x") == Example(path="x")  # the flags' defaults are the fields'
    p = cli.ArgumentParser(prog="t")
    settings.add_flags(p, Example)
    assert "--derived" not in p.format_help() and "How many." in p.format_help()


@pytest.mark.parametrize(
    "argv, message",
    [
        ((), "--input_dir is required"),
        (("--input_dir=x", "--count=-2"), "--count must be positive, got -2"),
        (("--input_dir=x", "--table=8-2"), "--table: cannot parse '8-2'"),
    ],
)
def test_checks_name_the_flag(argv, message):
    with pytest.raises(settings.SettingError, match=message):
        _parse(*argv)


def test_choices_are_enforced(capsys):
    with pytest.raises(SystemExit) as e:
        _parse("--input_dir=x", "--kind=c")
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
