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


def test_count_progress_with_eta_and_durations():
    from pgan_tf.core.progress import duration

    assert [duration(s) for s in (4.4, 59.6, 425, 3600 * 3 + 7 * 60 + 20)] == [
        "4s",
        "1m00s",
        "7m05s",
        "3h07m",
    ]
    log = io.StringIO()
    bar = CountProgress(30000, stream=log, interval=0, eta=True)
    bar(0)
    bar.line.start -= 10.0  # 10 s ago: 2 images in 10 s
    bar(2)
    first, second = log.getvalue().splitlines()
    assert first == "0/30000 images"
    assert second == "2/30000 images, 5.00 s/img, ETA 41h39m"  # 29998 * 5 s = 41 h 39 min 50 s
