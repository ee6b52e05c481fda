"""Settings declared once: a config dataclass field carries its default, its flag, its help text
and its check (`setting`); a command's flags are built from the fields (`add_flags`) and read back
into field values (`read`). A field without `setting` metadata is not a flag (it is filled from the
dataset or at start-up).
"""

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from pgan_tf.core import cli

_KEY = "pgan_tf.setting"
UNSET = object()  # `Flag.flag_default` when the flag's default is the field's


class SettingError(ValueError):
    """A flag value its setting's check rejects; the message names the flag."""


@dataclasses.dataclass(frozen=True)
class Flag:
    """How a field appears on the command line."""

    help: str
    name: str = ""  # the flag's name without "--"; default: the field's
    type: Callable | None = None  # text → value for argparse; default: from the default's type
    choices: tuple | None = None
    flag_default: Any = UNSET  # when the flag's default is not the field's
    parse: Callable | None = None  # flag value → field value (e.g. a table's text → pairs)
    check: Callable[[Any], str | None] | None = None  # the problem with a value, or None
    is_list: bool = False  # comma-separated (absl's list flag)


def setting(default=dataclasses.MISSING, *, help: str, **flag) -> Any:
    """A dataclass field with `default`, exposed as a flag (`Flag`'s fields as keywords)."""
    return dataclasses.field(default=default, metadata={_KEY: Flag(help=help, **flag)})


def flag_of(field: dataclasses.Field) -> Flag | None:
    return field.metadata.get(_KEY)


def flag_name(field: dataclasses.Field) -> str:
    return flag_of(field).name or field.name


def flag_fields(cls) -> list[dataclasses.Field]:
    """The fields of config class `cls` that are flags, in declaration order."""
    return [f for f in dataclasses.fields(cls) if flag_of(f) is not None]


def _flag_default(field):
    flag = flag_of(field)
    if flag.flag_default is not UNSET:
        return flag.flag_default
    return None if field.default is dataclasses.MISSING else field.default


def add_flags(parser: cli.ArgumentParser, *classes) -> None:
    """Adds a flag for every `setting` field of `classes` to `parser`."""
    for cls in classes:
        for field in flag_fields(cls):
            flag, name = flag_of(field), "--" + flag_name(field)
            default = _flag_default(field)
            if flag.is_list:
                parser.add_list(name, default=default, help=flag.help)
            elif isinstance(default, bool):
                parser.add_bool(name, default=default, help=flag.help)
            else:
                kind = flag.type or {int: cli.integer, float: float}.get(type(default))
                extra = {"choices": flag.choices} if flag.choices else {}
                parser.add_argument(name, type=kind, default=default, help=flag.help, **extra)


def read(cls, namespace: argparse.Namespace) -> dict[str, Any]:
    """{field: value} of `cls`'s flags in parsed `namespace`, parsed and checked (SettingError
    names the flag)."""
    out = {}
    for field in flag_fields(cls):
        flag, name = flag_of(field), flag_name(field)
        value = getattr(namespace, name)
        if flag.check is not None:
            problem = flag.check(value)
            if problem:
                raise SettingError(f"--{name} {problem}")
        out[field.name] = flag.parse(value) if flag.parse else value
    return out


def positive(value) -> str | None:
    """A check: the value must be > 0."""
    return None if value > 0 else f"must be positive, got {value}"


def non_negative(value) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value}"


def resolution_table(text: str, value_type: Callable, flag: str) -> tuple:
    """'256:14,512:6' → ((256, 14), (512, 6)), sorted, with an error naming `flag`."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        try:
            res, value = item.split(":")
            out.append((int(res), value_type(value)))
        except ValueError:
            raise SettingError(
                f"--{flag}: cannot parse {item!r}; expected RESOLUTION:VALUE pairs like '256:14'"
            ) from None
    return tuple(sorted(out))
