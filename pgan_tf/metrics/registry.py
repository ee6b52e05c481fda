"""One entry point for all metrics, shared by the training loop and the evaluate command.

The real images are streamed once and the generated images are made once, batch by batch;
every requested metric consumes the same batches (SWD and FID need both sets, MS-SSIM, IS
and mode coverage only the generated one), so no metric forces a whole set into memory
except mode coverage, which classifies the generated set as a whole.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

METRICS = {}


@dataclass(frozen=True)
class Metric:
    """One registered metric: how to build its accumulator and what it needs.

    make(context) → an object with add(which, batch, features, probs) and result() → {key: float};
    fits(resolution) → None, or why the metric cannot run at that resolution.
    """

    name: str
    help: str
    make: Callable
    needs_reals: bool = False
    needs_inception: bool = False
    fits: Callable = lambda resolution: None
    protocol_images: int = 10000


def register_metric(
    name, *, help, needs_reals=False, needs_inception=False, fits=None, protocol_images=10000
):
    """Decorator: registers make(context) as the metric `name` (adding a metric = one entry).
    protocol_images: how many generated images the original's evaluation uses for it."""

    def decorate(make):
        fit = fits or (lambda resolution: None)
        METRICS[name] = Metric(name, help, make, needs_reals, needs_inception, fit, protocol_images)
        return make

    return decorate


def metrics_help():
    """'swd (…), ms_ssim (…), …': the registered metrics, for flag help."""
    return ", ".join(f"{m.name} ({m.help})" for m in METRICS.values())


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
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {', '.join(METRICS)}")
    if not names:
        raise ValueError(f"no metric given; choose from {', '.join(METRICS)}")
    return names


def applicable_metrics(names, resolution):
    """(names usable at this resolution, {name: reason} for the others), from each entry's fits."""
    usable, skipped = [], {}
    for name in names:
        reason = METRICS[name].fits(resolution)
        if reason:
            skipped[name] = reason
        else:
            usable.append(name)
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


class _Context:
    """What metric accumulators are built from: the seed and the loaded Inception network."""

    def __init__(self, seed, inception):
        self.seed = seed
        self.inception = inception


class _Consumers:
    """The per-metric accumulators; fed with real and generated batches, then asked for values."""

    def __init__(self, names, seed, inception_path):
        self.names = names
        self.seed = seed
        self.inception_path = inception_path
        self.accumulators = None

    def _start(self, batch):
        """On the first batch: drops the metrics that cannot run at its resolution, builds the
        others (loading Inception once if any needs it)."""
        self.names, self.skipped = applicable_metrics(self.names, batch.shape[1])
        inception = None
        if any(METRICS[n].needs_inception for n in self.names):
            from pgan_tf.metrics.fid import InceptionFeatures

            inception = self.inception_path
            if not isinstance(inception, InceptionFeatures):
                inception = InceptionFeatures(inception)
        context = _Context(self.seed, inception)
        self.inception = inception
        self.accumulators = {n: METRICS[n].make(context) for n in self.names}

    def add(self, which, batch):
        """Feeds one uint8 NHWC batch of set `which` ('reals' or 'fakes') to every metric."""
        if self.accumulators is None:
            self._start(batch)
        wanted = [n for n in self.names if which == "fakes" or METRICS[n].needs_reals]
        feats = probs = None
        if self.inception is not None and any(METRICS[n].needs_inception for n in wanted):
            feats, probs = self.inception(batch)
        for name in wanted:
            self.accumulators[name].add(which, batch, feats, probs)

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


# ------------------------------------------------------------------ the metrics, one entry each
def _swd_fits(resolution):
    from pgan_tf.metrics.swd import pyramid_resolutions

    try:
        pyramid_resolutions(resolution)
    except ValueError as e:
        return str(e)
    return None


def _ms_ssim_fits(resolution):
    from pgan_tf.metrics.ms_ssim import FILTER_SIZE

    return f"MS-SSIM needs images of at least {FILTER_SIZE}²" if resolution < FILTER_SIZE else None


class _SWD:
    def __init__(self, context):
        self.seed, self.acc = context.seed, None

    def add(self, which, batch, feats, probs):
        if self.acc is None:
            from pgan_tf.metrics.swd import SWDAccumulator

            self.acc = SWDAccumulator(batch.shape[1], batch.shape[3], seed=self.seed)
        self.acc.add(which, batch)

    def result(self):
        return self.acc.result()


class _FID:
    def __init__(self, context):
        from pgan_tf.metrics.fid import GaussianStats

        self.stats = {"reals": GaussianStats(), "fakes": GaussianStats()}

    def add(self, which, batch, feats, probs):
        self.stats[which].add(feats)

    def result(self):
        from pgan_tf.metrics.fid import fid_from_stats

        return {"FID": fid_from_stats(self.stats["reals"], self.stats["fakes"])}


class _OnFakes:
    """Adapter for metrics of the generated set only: calls feed(batch, probs) per batch."""

    def __init__(self, acc, feed):
        self.acc, self.feed = acc, feed

    def add(self, which, batch, feats, probs):
        self.feed(self.acc, batch, probs)

    def result(self):
        return self.acc.result()


class _ModeCoverage:
    def __init__(self, context):
        self.images = []

    def add(self, which, batch, feats, probs):
        self.images.append(batch)

    def result(self):
        from pgan_tf.metrics.mode_coverage import mode_coverage

        values = mode_coverage(np.concatenate(self.images))
        return {k: float(v) for k, v in values.items()}


def _ms_ssim(context):
    from pgan_tf.metrics.ms_ssim import MSSSIMAccumulator

    return _OnFakes(MSSSIMAccumulator(), lambda acc, batch, probs: acc.add(batch))


def _inception_score(context):
    from pgan_tf.metrics.inception_score import ISAccumulator

    return _OnFakes(ISAccumulator(context.inception), lambda acc, b, probs: acc.add_probs(probs))


# protocol_images as the original's config.py evaluates them: swd-16k, msssim-20k (10,000
# pairs), fid-50k, is-50k.
register_metric(
    "swd",
    help="sliced Wasserstein distance, paper §5",
    needs_reals=True,
    fits=_swd_fits,
    protocol_images=16384,
)(_SWD)
register_metric(
    "ms_ssim", help="MS-SSIM of generated pairs", fits=_ms_ssim_fits, protocol_images=20000
)(_ms_ssim)
register_metric(
    "fid",
    help="Fréchet Inception distance",
    needs_reals=True,
    needs_inception=True,
    protocol_images=50000,
)(_FID)
register_metric("is", help="Inception score", needs_inception=True, protocol_images=50000)(
    _inception_score
)
register_metric("mode_coverage", help="modes of the synthetic set")(_ModeCoverage)

METRIC_NAMES = tuple(METRICS)
