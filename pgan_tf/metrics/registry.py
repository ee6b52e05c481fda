"""One entry point for all metrics, shared by the training loop and the evaluate command.

The real images are streamed once and the generated images are made once, batch by batch;
every requested metric consumes the same batches (SWD and FID need both sets, MS-SSIM, IS
and mode coverage only the generated one), so no metric forces a whole set into memory
except mode coverage, which classifies the generated set as a whole.
"""

import dataclasses
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Metric:
    """A registered metric: how to make its accumulator and what it needs."""

    name: str
    make: Callable  # make(seed, inception) → accumulator with add(which, batch, inception_out)
    needs_reals: bool = False  # compares against the reals (else the generated set alone)
    needs_inception: bool = False  # consumes Inception-v3's (pool features, class probabilities)
    check_resolution: Callable[[int], None] | None = None  # raises ValueError where it cannot run
    protocol_images: int = 10000  # generated images the original's evaluation scores it on


METRICS: dict[str, Metric] = {}


def register_metric(
    name, *, needs_reals=False, needs_inception=False, check_resolution=None, protocol_images=10000
):
    """Class decorator: registers an accumulator class under `name` (`--metrics` accepts it, the
    flag help lists it). The class is made as `cls(seed, inception)`; `add(which, batch,
    inception_out)` gets every uint8 NHWC batch it needs and `result()` returns {key: float}.
    protocol_images: its count in the original's config.py evaluations (swd-16k, msssim-20k, i.e.
    10,000 pairs, fid-50k, is-50k)."""

    def register(cls):
        METRICS[name] = Metric(
            name, cls, needs_reals, needs_inception, check_resolution, protocol_images
        )
        return cls

    return register


def metric_names() -> tuple[str, ...]:
    """The registered metrics, in registration order."""
    return tuple(METRICS)


def _swd_resolution(resolution):
    from pgan_tf.metrics.swd import pyramid_resolutions

    pyramid_resolutions(resolution)  # its pyramid stops at 16²: needs 16·2^k


def _ms_ssim_resolution(resolution):
    from pgan_tf.metrics.ms_ssim import FILTER_SIZE

    if resolution < FILTER_SIZE:
        raise ValueError(f"MS-SSIM needs images of at least {FILTER_SIZE}²")


@register_metric("swd", needs_reals=True, check_resolution=_swd_resolution, protocol_images=16384)
class _SWD:
    """Sliced Wasserstein distance per pyramid level (paper §5)."""

    def __init__(self, seed, inception):
        self.seed, self.acc = seed, None

    def add(self, which, batch, inception_out):
        if self.acc is None:
            from pgan_tf.metrics.swd import SWDAccumulator

            self.acc = SWDAccumulator(batch.shape[1], batch.shape[3], seed=self.seed)
        self.acc.add(which, batch)

    def result(self):
        return self.acc.result()


@register_metric("ms_ssim", check_resolution=_ms_ssim_resolution, protocol_images=20000)
class _MSSSIM:
    """MS-SSIM of pairs of generated images (paper §5, after Odena et al.)."""

    def __init__(self, seed, inception):
        from pgan_tf.metrics.ms_ssim import MSSSIMAccumulator

        self.acc = MSSSIMAccumulator()

    def add(self, which, batch, inception_out):
        self.acc.add(batch)

    def result(self):
        return self.acc.result()


@register_metric("fid", needs_reals=True, needs_inception=True, protocol_images=50000)
class _FID:
    """Fréchet Inception distance between the Gaussians of the two sets' pool features."""

    def __init__(self, seed, inception):
        from pgan_tf.metrics.fid import GaussianStats

        self.stats = {"reals": GaussianStats(), "fakes": GaussianStats()}

    def add(self, which, batch, inception_out):
        self.stats[which].add(inception_out[0])

    def result(self):
        from pgan_tf.metrics.fid import fid_from_stats

        return {"FID": fid_from_stats(self.stats["reals"], self.stats["fakes"])}


@register_metric("is", needs_inception=True, protocol_images=50000)
class _IS:
    """Inception score of the generated set (the paper's CIFAR-10 figure)."""

    def __init__(self, seed, inception):
        from pgan_tf.metrics.inception_score import ISAccumulator

        self.acc = ISAccumulator(inception)

    def add(self, which, batch, inception_out):
        self.acc.add_probs(inception_out[1])

    def result(self):
        return self.acc.result()


@register_metric("mode_coverage")
class _ModeCoverage:
    """Which of the synthetic dataset's shapes × colours the generated set covers, how evenly."""

    def __init__(self, seed, inception):
        self.batches = []

    def add(self, which, batch, inception_out):
        self.batches.append(batch)

    def result(self):
        from pgan_tf.metrics.mode_coverage import mode_coverage

        values = mode_coverage(np.concatenate(self.batches))
        return {k: float(v) for k, v in values.items()}


def count_label(n):
    """16384 → '16k', 50000 → '50k', 500 → '500': the image count in a metric's name."""
    return f"{round(n / 1000)}k" if n >= 1000 and n % 1000 in (0, 384) else str(n)


def protocol_groups(names, num_images=None):
    """[(count, names)]: the metrics grouped by the image count they are computed on — each its
    protocol_images, or num_images for all when given."""
    groups = {}
    for name in names:
        groups.setdefault(num_images or METRICS[name].protocol_images, []).append(name)
    return [(n, tuple(group)) for n, group in groups.items()]


def parse_metric_names(names):
    """'swd,fid' or ['swd', 'fid'] → validated tuple of names, with a clear error otherwise."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    names = tuple(n for n in names if n)
    choices = ", ".join(metric_names())
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {choices}")
    if not names:
        raise ValueError(f"no metric given; choose from {choices}")
    return names


def applicable_metrics(names, resolution):
    """(names usable at this resolution, {name: reason} for the others): e.g. SWD needs a 16·2^k
    resolution, MS-SSIM at least 11² (its 11×11 window)."""
    usable, skipped = [], {}
    for name in names:
        check = METRICS[name].check_resolution
        try:
            if check is not None:
                check(resolution)
            usable.append(name)
        except ValueError as e:
            skipped[name] = str(e)
    return tuple(usable), skipped


def _batch_seed(seed, index):
    """A distinct, reproducible seed for the index-th generated batch."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def _take(batches, limit):
    """Yields uint8 batches from an iterable until `limit` images have been yielded."""
    seen = 0
    for batch in batches:
        if seen >= limit:
            break
        batch = np.asarray(batch)[: limit - seen]
        seen += batch.shape[0]
        yield batch


class _Consumers:
    """The asked metrics' accumulators, fed with real and generated batches (Inception-v3 run
    once per batch for all that need it), then asked for values."""

    def __init__(self, names, seed, inception_path):
        self.names, self.seed = names, seed
        self.inception = None
        if any(METRICS[n].needs_inception for n in names):
            from pgan_tf.metrics.fid import InceptionFeatures

            self.inception = (
                inception_path
                if isinstance(inception_path, InceptionFeatures)
                else InceptionFeatures(inception_path)
            )
        self.accumulators = None

    def _start(self, batch):
        """On the first batch: drops the metrics that cannot run at its resolution."""
        if self.accumulators is None:
            self.names, self.skipped = applicable_metrics(self.names, batch.shape[1])
            self.accumulators = {n: METRICS[n].make(self.seed, self.inception) for n in self.names}

    def add(self, which, batch):
        """Feeds one uint8 NHWC batch of set `which` ('reals' or 'fakes') to every metric."""
        self._start(batch)
        wanted = [n for n in self.names if which == "fakes" or METRICS[n].needs_reals]
        inception_out = None
        if self.inception is not None and any(METRICS[n].needs_inception for n in wanted):
            inception_out = self.inception(batch)
        for name in wanted:
            self.accumulators[name].add(which, batch, inception_out)

    def results(self):
        """Metric name → value, in the order the metrics were asked for."""
        out = {}
        for name in self.names:
            out.update(self.accumulators[name].result())
        return out


def compute_metrics(
    names,
    generate_fn,
    real_batches_fn,
    *,
    num_images,
    seed,
    inception_path=None,
    batch_size=64,
    progress=None,
):
    """Computes the named metrics of a generator against the real data.

    generate_fn(n, seed) → uint8 NHWC array of n generated images;
    real_batches_fn(n) → iterable of uint8 NHWC batches (at least n images wanted).
    When the real data holds fewer than num_images, both sets use as many as it holds.
    Metrics that cannot run at the images' resolution (see applicable_metrics) are left out.
    inception_path: weights path for fid/is, or an already loaded InceptionFeatures.
    progress(phase, done, total) (phase "reals" or "fakes"), if given, is called after each batch.
    Returns {metric key: float, ..., 'num_images': int}.
    """
    names = parse_metric_names(names)
    if num_images < 2:
        raise ValueError(f"num_images must be >= 2, got {num_images}")
    consumers = _Consumers(names, seed, inception_path)
    count = num_images
    if any(METRICS[n].needs_reals for n in names):
        count = 0
        for batch in _take(real_batches_fn(num_images), num_images):
            consumers.add("reals", batch)
            count += batch.shape[0]
            if progress:
                progress("reals", count, num_images)
        if count < 2:
            raise ValueError(f"the real data yielded {count} images; metrics need at least 2")
    done = 0
    index = 0
    while done < count:
        n = min(batch_size, count - done)
        batch = np.asarray(generate_fn(n, _batch_seed(seed, index)))
        if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[0] != n:
            raise ValueError(
                f"generate_fn({n}, seed) must return uint8 [{n}, H, W, C], got "
                f"{batch.dtype} {batch.shape}"
            )
        consumers.add("fakes", batch)
        done += n
        index += 1
        if progress:
            progress("fakes", done, count)
    out = consumers.results()
    out["num_images"] = int(count)
    return out
