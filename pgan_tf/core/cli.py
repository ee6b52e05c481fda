"""The one flag library of every command: argparse that reads flags the way absl does.

What users and the shipped `*.flags` files rely on, exactly as absl parses it:
`--flagfile=FILE` (one flag per line; lines starting with `#` or `//` and blank lines skipped;
nested `--flagfile=` lines; expanded in place, so later flags override earlier ones and flags
after the `--flagfile` override the file's), booleans as `--name`, `--noname` or
`--name=true|false|t|f|1|0`, comma-separated lists, `--flag value` (the next argument is the
value, whatever it looks like) and `--flag=value`, `-name` for `--name`. Flags are never
abbreviated and unknown ones are errors. A usage error is one `error: ...` line on stderr and
exit code USAGE; commands report their other errors with `fail` and the codes below (the
README's table).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

from pgan_tf.core.errors import first_line

OK = 0
FAILURE = 1  # the work failed: I/O, damaged data, a diverged run
USAGE = 2  # bad flags or configuration: the command refused before doing the work
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

_TRUE, _FALSE = ("true", "t", "1"), ("false", "f", "0")


def parse_bool(text: str) -> bool:
    """absl's boolean values: true/t/1 or false/f/0, any case."""
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"expected true/false/1/0, got {text!r}")


def integer(text: str) -> int:
    """An int as absl reads one: decimal, or hexadecimal / octal with a 0x / 0o prefix."""
    base = 10
    if len(text) > 2 and text[0] == "0" and text[1] in "xo":
        base = 16 if text[1] == "x" else 8
    return int(text, base)


def comma_list(text: str) -> list[str]:
    """absl's list flag: comma-separated (CSV quoting allowed), items stripped; '' is []."""
    if not text:
        return []
    try:
        return [item.strip() for item in next(csv.reader([text], strict=True))]
    except csv.Error as e:
        raise ValueError(f"cannot parse {text!r} as a comma-separated list: {e}") from None


class UsageError(ValueError):
    """Flags that cannot be read (e.g. a missing flag file); the message names the flag."""


def read_flagfile(path: str, _including: tuple[str, ...] = ()) -> list[str]:
    """The arguments a flag file holds, as absl reads it: one per line with surrounding
    whitespace stripped; blank lines and lines starting with '#' or '//' skipped; a line
    `--flagfile=F` replaced by F's arguments. Paths are relative to the working directory.
    A file that includes itself is an error (absl warned and skipped the inner one)."""
    if os.path.realpath(path) in map(os.path.realpath, _including):
        raise UsageError(f"--flagfile={path} includes itself: {' -> '.join(_including + (path,))}")
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError as e:
        raise UsageError(f"--flagfile={path}: {e.strerror or e}") from None
    args = []
    for line in lines:
        if line.isspace() or line.startswith(("#", "//")):
            continue
        if line.startswith(("--flagfile=", "-flagfile=")):
            nested = os.path.expanduser(line.split("=", 1)[1].strip())
            if nested:
                args += read_flagfile(nested, _including + (path,))
        else:
            args.append(line.strip())
    return args


class _Bool(argparse.Action):
    """A boolean flag: its `negatives` (`--noname`) store False, its other spellings True."""

    def __init__(self, option_strings, dest, default=None, help=None, negatives=()):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)
        self.negatives = frozenset(negatives)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, option_string not in self.negatives)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with absl's flag syntax (module docstring), `--flagfile`, booleans with a
    `--no` form, no abbreviations, and one-line `error: ...` usage errors with exit code 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--flagfile",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help="read flags from FILE, one per line ('#' and '//' lines are "
            "comments); flags after it override the file's",
        )

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(USAGE)

    def add_argument(self, *args, **kwargs):
        """As argparse's; `action='store_true'` makes a boolean flag (see `add_bool`)."""
        if kwargs.get("action") == "store_true":
            kwargs.pop("action")
            return self.add_bool(*args, default=kwargs.pop("default", False), **kwargs)
        return super().add_argument(*args, **kwargs)

    def add_bool(self, name, *aliases, default=False, help=None, dest=None):
        """Boolean flag: `--name`, `--noname`, `--name=true|false|1|0` (absl's forms)."""
        negative = f"--no{name.lstrip('-')}"
        return super().add_argument(
            name,
            *aliases,
            negative,
            action=_Bool,
            negatives=[negative],
            default=default,
            dest=dest or name.lstrip("-"),
            help=help,
        )

    def add_list(self, name, default=(), help=None, **kwargs):
        """Comma-separated list flag, e.g. `--metrics=swd,ms_ssim`."""
        return self.add_argument(name, type=comma_list, default=list(default), help=help, **kwargs)

    def add_alias(self, alias, name):
        """A hidden old spelling of flag `name` (not in --help), so commands written with it
        keep working."""
        target = self._option_string_actions[name]
        kwargs = dict(dest=target.dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if isinstance(target, _Bool):
            negatives = [alias] if name in target.negatives else []
            return super().add_argument(alias, action=_Bool, negatives=negatives, **kwargs)
        return super().add_argument(alias, type=target.type, choices=target.choices, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        try:
            args = self._absl_syntax(args)
        except UsageError as e:
            self.error(str(e))
        return super().parse_known_args(args, namespace)

    # ---- absl's syntax → argparse's ----------------------------------------------------------
    def _subcommands(self):
        return {
            name: sub
            for a in self._actions
            if isinstance(a, argparse._SubParsersAction)
            for name, sub in a.choices.items()
        }

    def _absl_syntax(self, argv):
        """`argv` with flag files expanded in place, `-name` as `--name`, `--name value` as
        `--name=value` and boolean values as `--name` / `--noname`; a subcommand's own flags
        are read with its parser's table. Idempotent."""
        table, subcommands = self._option_string_actions, self._subcommands()
        out, rest = [], list(argv)
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                return out + [arg] + rest
            if not arg.startswith("-") or arg == "-":
                if arg in subcommands:
                    sub = subcommands[arg]
                    table, subcommands = sub._option_string_actions, sub._subcommands()
                out.append(arg)
                continue
            name, has_value, value = (arg[2:] if arg.startswith("--") else arg[1:]).partition("=")
            if name == "flagfile":
                if not has_value:
                    if not rest:
                        raise UsageError("--flagfile needs a file name")
                    value = rest.pop(0)
                value = os.path.expanduser(value if not has_value else value.strip())
                rest[:0] = read_flagfile(value) if value else []
                continue
            flag = f"--{name}"
            action = table.get(flag)
            if action is None:
                out.append(arg)  # argparse's own (-h) or unknown: argparse says which
            elif isinstance(action, _Bool) and has_value and flag not in action.negatives:
                try:
                    out.append(flag if parse_bool(value) else _negative(table, action))
                except ValueError as e:
                    raise UsageError(f"argument {flag}: {e}") from None
            elif action.nargs is None and action.option_strings:
                if not has_value:
                    if not rest:
                        raise UsageError(f"argument {flag}: expected one argument")
                    value = rest.pop(0)
                out.append(f"{flag}={value}")
            else:
                out.append(flag + (f"={value}" if has_value else ""))
        return out


def _negative(table, action):
    """The `--no...` spelling of boolean `action`."""
    return next(
        flag
        for flag, a in table.items()
        if isinstance(a, _Bool) and a.dest == action.dest and flag in a.negatives
    )


def fail(message, code: int = FAILURE) -> int:
    """Prints `error: <the message's first line>` on stderr; returns `code`."""
    print(f"error: {first_line(message) or type(message).__name__}", file=sys.stderr)
    return code
