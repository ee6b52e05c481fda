"""What every command-line tool of the project shares: errors as one `error: ...` line."""
import argparse
import sys

USAGE_EXIT_CODE = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's one-line `error: ...` on stderr and exit code 2 for bad usage."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(USAGE_EXIT_CODE)
