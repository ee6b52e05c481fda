"""Progress of long work on stderr: one line rewritten in place on a terminal, plain lines in a log.

`ProgressLine` is the printer (throttling, terminal or log); `CountProgress` is the dataset
tool's `count/total images, rate img/s` on top of it. The evaluation command formats its own
`label: phase done/total` lines with a `ProgressLine`.
"""

import math
import sys
import time


class ProgressLine:
    """One progress line on `stream` (default stderr).

    On a terminal each update rewrites the line (`\\r`); when the stream is a file every update is
    a line of its own. Updates closer than `interval` seconds (`log_interval` when the stream is a
    file, if given) to the last one shown are dropped unless forced. With `wait_first`, the first
    update is shown only once `interval` has passed since the start.
    """

    def __init__(
        self,
        stream=None,
        interval: float = 1.0,
        log_interval: float = None,
        *,
        wait_first: bool = False,
    ):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.tty or log_interval is None else log_interval
        self.start = time.monotonic()
        self._last = self.start if wait_first else -math.inf

    def show(self, text: str, *, force: bool = False, end: bool = False) -> bool:
        """Writes `text` if it is due (or forced); `end` also ends the line on a terminal.
        Returns whether it was written."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return False
        self._last = now
        if self.tty:
            self.stream.write("\r" + text + ("\n" if end else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        return True


def duration(seconds: float) -> str:
    """`42s`, `7m05s` or `3h07m`: a short, rounded duration."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class CountProgress:
    """`count/total <what>, rate img/s` at most every `interval` seconds; `done()` adds the time.

    With `eta`, for slow work: `count/total <what>, N.NN s/img, ETA 3h07m` (the rate so far)."""

    def __init__(
        self,
        total: int,
        what: str = "images",
        stream=None,
        interval: float = 1.0,
        *,
        eta: bool = False,
    ):
        self.total, self.what, self.eta = total, what, eta
        self.count = 0
        self.line = ProgressLine(stream, interval, wait_first=True)

    def _text(self, now):
        elapsed = max(now - self.line.start, 1e-9)
        if self.eta:
            text = f"{self.count}/{self.total} {self.what}"
            if not self.count:
                return text
            per = elapsed / self.count
            return f"{text}, {per:.2f} s/img, ETA {duration(per * (self.total - self.count))}"
        return f"{self.count}/{self.total} {self.what}, {self.count / elapsed:.0f} img/s"

    def __call__(self, count: int) -> None:
        self.count = count
        self.line.show(self._text(time.monotonic()))

    def done(self) -> None:
        now = time.monotonic()
        self.line.show(self._text(now) + f" in {now - self.line.start:.1f} s", force=True, end=True)
