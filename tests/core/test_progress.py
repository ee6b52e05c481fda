"""The one progress printer: a rewritten line on a terminal, plain lines in a log, throttled."""

import io
import re

from pgan_tf.core.progress import CountProgress, ProgressLine


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_line_on_a_terminal_and_lines_in_a_log():
    term, log = Terminal(), io.StringIO()
    for stream in (term, log):
        line = ProgressLine(stream, interval=0)
        line.show("a")
        line.show("b", end=True)
    assert term.getvalue() == "\ra\rb\n"
    assert log.getvalue() == "a\nb\n"


def test_throttled_unless_forced_and_log_interval():
    log = io.StringIO()
    line = ProgressLine(log, interval=0, log_interval=3600)  # a log: the log interval applies
    assert line.show("first") and not line.show("dropped") and line.show("forced", force=True)
    assert log.getvalue() == "first\nforced\n"
    waiting = ProgressLine(io.StringIO(), interval=3600, wait_first=True)
    assert not waiting.show("too early")


def test_count_progress_text():
    log = io.StringIO()
    bar = CountProgress(10, "read", stream=log, interval=0)
    bar(4)
    bar.done()
    first, last = log.getvalue().splitlines()
    assert re.fullmatch(r"4/10 read, \d+ img/s", first)
    assert re.fullmatch(r"4/10 read, \d+ img/s in \d+\.\d s", last)
    term = Terminal()
    bar = CountProgress(10, stream=term, interval=3600)
    bar(5)  # not shown before the interval
    bar.done()
    assert re.fullmatch(r"\r5/10 images, \d+ img/s in \d+\.\d s\n", term.getvalue())
