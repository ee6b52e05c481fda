"""One entry point for all metrics, shared by the training loop and the evaluate command.

The real images are streamed once and the generated images are made once, batch by batch;
every requested metric consumes the same batches (SWD and FID need both sets, MS-SSIM, IS
and mode coverage only the generated one), so no metric forces a whole set into memory
except mode coverage, which classifies the generated set as a whole.
"""

import numpy as np

METRIC_NAMES = ("swd", "ms_ssim", "fid", "is", "mode_coverage")
_NEEDS_REALS = {"swd", "fid"}
_NEEDS_INCEPTION = {"fid", "is"}


def parse_metric_names(names):
    """'swd,fid' or ['swd', 'fid'] → validated tuple of names, with a clear error otherwise."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    names = tuple(n for n in names if n)
    unknown = [n for n in names if n not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {', '.join(METRIC_NAMES)}")
    if not names:
        raise ValueError(f"no metric given; choose from {', '.join(METRIC_NAMES)}")
    return names


def applicable_metrics(names, resolution):
    """(names usable at this resolution, {name: reason} for the others): SWD needs a 16·2^k
    resolution (its pyramid stops at 16²), MS-SSIM at least 11² (its 11×11 window)."""
    from pgan_tf.metrics.ms_ssim import FILTER_SIZE
    from pgan_tf.metrics.swd import pyramid_resolutions

    usable, skipped = [], {}
    for name in names:
        try:
            if name == "swd":
                pyramid_resolutions(resolution)
            elif name == "ms_ssim" and resolution < FILTER_SIZE:
                raise ValueError(f"MS-SSIM needs images of at least {FILTER_SIZE}²")
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
    """The per-metric accumulators; fed with real and generated batches, then asked for values."""

    def __init__(self, names, seed, inception_path):
        self.names = names
        self.seed = seed
        self.swd = None
        self.inception = None
        if _NEEDS_INCEPTION & set(names):
            from pgan_tf.metrics.fid import InceptionFeatures

            self.inception = (
                inception_path
                if isinstance(inception_path, InceptionFeatures)
                else InceptionFeatures(inception_path)
            )
        if "fid" in names:
            from pgan_tf.metrics.fid import GaussianStats

            self.fid_stats = {"reals": GaussianStats(), "fakes": GaussianStats()}
        if "ms_ssim" in names:
            from pgan_tf.metrics.ms_ssim import MSSSIMAccumulator

            self.ms_ssim = MSSSIMAccumulator()
        if "is" in names:
            from pgan_tf.metrics.inception_score import ISAccumulator

            self.inception_score = ISAccumulator(self.inception)
        self.fake_images = [] if "mode_coverage" in names else None
        self.skipped = None

    def _check_resolution(self, batch):
        """On the first batch: drops the metrics that cannot run at its resolution."""
        if self.skipped is None:
            self.names, self.skipped = applicable_metrics(self.names, batch.shape[1])

    def _swd_acc(self, batch):
        if self.swd is None:
            from pgan_tf.metrics.swd import SWDAccumulator

            self.swd = SWDAccumulator(batch.shape[1], batch.shape[3], seed=self.seed)
        return self.swd

    def add(self, which, batch):
        """Feeds one uint8 NHWC batch of set `which` ('reals' or 'fakes') to every metric."""
        self._check_resolution(batch)
        feats = probs = None
        if self.inception is not None and (which == "fakes" or "fid" in self.names):
            feats, probs = self.inception(batch)
        if "swd" in self.names:
            self._swd_acc(batch).add(which, batch)
        if "fid" in self.names:
            self.fid_stats[which].add(feats)
        if which == "reals":
            return
        if "ms_ssim" in self.names:
            self.ms_ssim.add(batch)
        if "is" in self.names:
            self.inception_score.add_probs(probs)
        if self.fake_images is not None:
            self.fake_images.append(batch)

    def results(self):
        """Metric name → value, in the order the metrics were asked for."""
        out = {}
        for name in self.names:
            if name == "swd":
                out.update(self.swd.result())
            elif name == "ms_ssim":
                out.update(self.ms_ssim.result())
            elif name == "fid":
                from pgan_tf.metrics.fid import fid_from_stats

                out["FID"] = fid_from_stats(self.fid_stats["reals"], self.fid_stats["fakes"])
            elif name == "is":
                out.update(self.inception_score.result())
            elif name == "mode_coverage":
                from pgan_tf.metrics.mode_coverage import mode_coverage

                values = mode_coverage(np.concatenate(self.fake_images))
                out.update({k: float(v) for k, v in values.items()})
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
    if _NEEDS_REALS & set(names):
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
