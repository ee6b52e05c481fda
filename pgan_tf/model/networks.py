"""Per-stage generator and discriminator (paper Appendix A, Table 2).

Each stage of progressive training gets a fresh functional Keras model for one resolution,
either stable or fading in from resolution/2. Layer names depend only on the resolution a layer
works at, so `transfer_weights` can carry every shared layer from one stage to the next.
"""

import dataclasses
import math

import keras

from pgan_tf.core.resolution import res_log2
from pgan_tf.core.settings import setting
from pgan_tf.model import layers

LRELU_SLOPE = 0.2


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Architecture hyper-parameters; the defaults are the paper's 1024² CelebA-HQ networks."""

    fmap_base: int = setting(
        8192, help="Feature-map base: nf(stage) = min(fmap_base / 2**(stage*fmap_decay), fmap_max)."
    )
    fmap_decay: float = setting(1.0, help="Feature-map decay per stage.")
    fmap_max: int = setting(512, help="Maximum feature maps per layer.")
    latent_size: int = setting(512, help="Latent vector size.")
    num_channels: int = 3  # from the dataset
    label_size: int = 0  # from the dataset (conditional runs)
    mbstd_group_size: int = setting(
        4,
        help="Minibatch-stddev group size, clamped to the per-replica minibatch as in "
        "the original (16 = whole minibatch at the paper's sizes); 0/1 disables "
        "the layer.",
    )
    normalize_latents: bool = True
    # The original's ablation switches (its `-nowscale`, `-nopixelnorm`, `-noleakyrelu`); paper: on.
    use_wscale: bool = setting(
        True,
        help="Equalized learning rate (paper §4.1); --nouse_wscale is the original's -nowscale.",
    )
    use_pixelnorm: bool = setting(
        True,
        help="Pixelwise feature normalization in G (paper §4.2); --nouse_pixelnorm is the "
        "original's -nopixelnorm.",
    )
    use_leakyrelu: bool = setting(
        True,
        help="Leaky ReLU (0.2) in G; --nouse_leakyrelu (ReLU) is the original's -noleakyrelu. "
        "D always uses leaky ReLU.",
    )
    # The original's `fused_scale` (its default for networks it trains): D's second conv of a
    # block is average-pooled before its activation (one strided conv there). G's fused
    # upscale+conv equals the separate ops, so only D changes. Off = the separate layers of the
    # paper's Table 2.
    fused_scale: bool = setting(
        False,
        help="D pools before the activation of each block's second conv, as the original's "
        "fused_scale (networks it trained by default; set by pgan_tf.import_official).",
    )
    # How the 3×3 convolutions are differentiated, not what they compute (model.conv_gradients).
    conv_gradients: bool = setting(
        True,
        help="Differentiate the 3x3 convolutions (of 8x8 and up, on CPU) with forward "
        "convolutions instead of TF's gradient kernels: the same sums, the quickstart's 32x32 "
        "step 1.3x faster on an AVX2 CPU (BUILD_NOTES). --noconv_gradients: TF's kernels.",
    )

    def __post_init__(self):
        for field in ("fmap_base", "fmap_max", "latent_size", "num_channels"):
            if getattr(self, field) <= 0:
                raise ValueError(
                    f"NetworkConfig.{field} must be positive, got {getattr(self, field)}"
                )
        if self.num_channels not in (1, 3):
            raise ValueError(f"NetworkConfig.num_channels must be 1 or 3, got {self.num_channels}")
        if self.label_size < 0 or self.mbstd_group_size < 0:
            raise ValueError("NetworkConfig.label_size and mbstd_group_size must be >= 0")

    def nf(self, stage):
        """Feature maps at a stage: min(fmap_base / 2**(stage * fmap_decay), fmap_max)."""
        return min(int(self.fmap_base / (2.0 ** (stage * self.fmap_decay))), self.fmap_max)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _tag(res):
    return f"{res}x{res}"


def _conv3x3(config, filters, name, dtype):
    return layers.EqualizedConv2D(
        filters,
        3,
        use_wscale=config.use_wscale,
        conv_gradients=config.conv_gradients,
        name=name,
        dtype=dtype,
    )


def _lrelu(name, dtype):
    return keras.layers.LeakyReLU(negative_slope=LRELU_SLOPE, name=name, dtype=dtype)


def _g_act_norm(x, config, name, dtype):
    """The generator's activation (leaky ReLU, or ReLU with `use_leakyrelu` off) and pixel norm."""
    if config.use_leakyrelu:
        x = _lrelu(f"{name}_lrelu", dtype)(x)
    else:
        x = keras.layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)
    if config.use_pixelnorm:
        x = layers.PixelNorm(name=f"{name}_pixelnorm", dtype=dtype)(x)
    return x


def _g_conv(x, config, filters, name, dtype):
    """Generator conv: 3×3 equalized conv, bias, leaky ReLU, pixel norm."""
    x = _conv3x3(config, filters, name, dtype)(x)
    return _g_act_norm(x, config, name, dtype)


def _g_block(x, config, res, dtype):
    """Generator features at `res` (from the features at res/2, or from the latents at 4×4)."""
    r = res_log2(res)
    nf = config.nf(r - 1)
    if res == 4:
        if config.normalize_latents:
            x = layers.PixelNorm(name="g_latents_pixelnorm", dtype=dtype)(x)
        x = layers.EqualizedDense(
            16 * nf,
            gain=math.sqrt(2.0) / 4,
            use_bias=False,
            use_wscale=config.use_wscale,
            name="g_4x4_dense",
            dtype=dtype,
        )(x)
        x = keras.layers.Reshape((4, 4, nf), name="g_4x4_reshape", dtype=dtype)(x)
        x = layers.ChannelBias(name="g_4x4_dense_bias", dtype=dtype)(x)
        x = _g_act_norm(x, config, "g_4x4_dense", dtype)
        return _g_conv(x, config, nf, "g_4x4_conv", dtype)
    x = layers.upsample_layer(f"g_{_tag(res)}_upsample", dtype)(x)
    x = _g_conv(x, config, nf, f"g_{_tag(res)}_conv0", dtype)
    return _g_conv(x, config, nf, f"g_{_tag(res)}_conv1", dtype)


def _to_rgb(x, config, res, dtype):
    return layers.EqualizedConv2D(
        config.num_channels,
        1,
        gain=1.0,
        use_wscale=config.use_wscale,
        name=f"g_torgb_{_tag(res)}",
        dtype=dtype,
    )(x)


def build_generator(config, resolution, fade_in=False, dtype=None):
    """Generator for one stage: latents (+ labels) → NHWC images at `resolution` (linear output).

    With `fade_in`, the output is WeightedSum((nearest-upsampled toRGB of the res/2 features),
    toRGB of the new block); α starts at 0 and is set with `set_alpha`. `dtype` is a Keras dtype
    policy name (e.g. "mixed_bfloat16"); the output is always float32.
    """
    r = res_log2(resolution)
    if fade_in and resolution < 8:
        raise ValueError("fade_in needs resolution >= 8: the 4x4 stage has nothing to fade from")
    latents = keras.Input((config.latent_size,), name="latents")
    inputs = [latents]
    x = latents
    if config.label_size:
        labels = keras.Input((config.label_size,), name="labels")
        inputs.append(labels)
        x = keras.layers.Concatenate(name="g_latents_labels", dtype=dtype)([latents, labels])
    for res in (2**k for k in range(2, r)):
        x = _g_block(x, config, res, dtype)
    if fade_in:
        old = _to_rgb(x, config, resolution // 2, dtype)
        old = layers.upsample_layer("g_fade_upsample", dtype)(old)
        new = _to_rgb(_g_block(x, config, resolution, dtype), config, resolution, dtype)
        images = layers.WeightedSum(name="g_fade", dtype=dtype)([old, new])
    else:
        images = _to_rgb(_g_block(x, config, resolution, dtype), config, resolution, dtype)
    images = keras.layers.Activation("linear", dtype="float32", name="images")(images)
    name = f"generator_{_tag(resolution)}" + ("_fade" if fade_in else "")
    return keras.Model(inputs if len(inputs) > 1 else latents, images, name=name)


def _from_rgb(x, config, res, dtype):
    nf = config.nf(res_log2(res) - 1)
    x = layers.EqualizedConv2D(
        nf, 1, use_wscale=config.use_wscale, name=f"d_fromrgb_{_tag(res)}", dtype=dtype
    )(x)
    return _lrelu(f"d_fromrgb_{_tag(res)}_lrelu", dtype)(x)


def _d_conv(x, config, filters, name, dtype):
    x = _conv3x3(config, filters, name, dtype)(x)
    return _lrelu(f"{name}_lrelu", dtype)(x)


def _d_block(x, config, res, dtype):
    """Discriminator block at `res`: features at res → features at res/2 (or the scores at 4×4)."""
    r = res_log2(res)
    if res == 4:
        if config.mbstd_group_size > 1:
            x = layers.MinibatchStdDev(config.mbstd_group_size, name="d_4x4_mbstd", dtype=dtype)(x)
        x = _d_conv(x, config, config.nf(1), "d_4x4_conv", dtype)
        x = layers.EqualizedDense(
            config.nf(0), use_wscale=config.use_wscale, name="d_4x4_dense0", dtype=dtype
        )(x)
        x = _lrelu("d_4x4_dense0_lrelu", dtype)(x)
        return layers.EqualizedDense(
            1 + config.label_size,
            gain=1.0,
            use_wscale=config.use_wscale,
            name="d_4x4_dense1",
            dtype=dtype,
        )(x)
    x = _d_conv(x, config, config.nf(r - 1), f"d_{_tag(res)}_conv0", dtype)
    if config.fused_scale:
        name = f"d_{_tag(res)}_conv1"
        x = _conv3x3(config, config.nf(r - 2), name, dtype)(x)
        x = layers.downsample_layer(f"d_{_tag(res)}_downsample", dtype)(x)
        return _lrelu(f"{name}_lrelu", dtype)(x)
    x = _d_conv(x, config, config.nf(r - 2), f"d_{_tag(res)}_conv1", dtype)
    return layers.downsample_layer(f"d_{_tag(res)}_downsample", dtype)(x)


def build_discriminator(config, resolution, fade_in=False, dtype=None):
    """Discriminator for one stage: NHWC images → [N, 1 + label_size] scores (float32).

    With `fade_in`, the res/2 path sees fromRGB(average-pooled image) and is blended with the new
    block's output: WeightedSum(fromRGB_old(down(img)), block_new(fromRGB_new(img))).
    """
    r = res_log2(resolution)
    if fade_in and resolution < 8:
        raise ValueError("fade_in needs resolution >= 8: the 4x4 stage has nothing to fade from")
    images = keras.Input((resolution, resolution, config.num_channels), name="images")
    x = _from_rgb(images, config, resolution, dtype)
    x = _d_block(x, config, resolution, dtype)
    if fade_in:
        old = layers.downsample_layer("d_fade_downsample", dtype)(images)
        old = _from_rgb(old, config, resolution // 2, dtype)
        x = layers.WeightedSum(name="d_fade", dtype=dtype)([old, x])
    for res in (2**k for k in range(r - 1, 1, -1)):
        x = _d_block(x, config, res, dtype)
    scores = keras.layers.Activation("linear", dtype="float32", name="scores")(x)
    name = f"discriminator_{_tag(resolution)}" + ("_fade" if fade_in else "")
    return keras.Model(images, scores, name=name)


def set_alpha(model, alpha):
    """Sets the fade-in weight α of every WeightedSum in `model`; returns how many were set."""
    fades = [layer for layer in model.layers if isinstance(layer, layers.WeightedSum)]
    for layer in fades:
        layer.set_alpha(alpha)
    return len(fades)


@dataclasses.dataclass(frozen=True)
class TransferReport:
    """What `transfer_weights` did: layers copied, new layers left at init, old layers dropped."""

    copied: tuple
    new_only: tuple
    old_only: tuple


def transfer_weights(old_model, new_model):
    """Copies the weights of every layer the two models share by name (fade α excluded).

    Raises on a shared name whose weight shapes differ: that is a bug, never a silent re-init.
    """
    old = {
        lay.name: lay
        for lay in old_model.layers
        if lay.weights and not isinstance(lay, layers.WeightedSum)
    }
    new = {
        lay.name: lay
        for lay in new_model.layers
        if lay.weights and not isinstance(lay, layers.WeightedSum)
    }
    copied = []
    for name, layer in new.items():
        if name not in old:
            continue
        src = old[name].get_weights()
        dst_shapes = [tuple(w.shape) for w in layer.weights]
        if [w.shape for w in src] != dst_shapes:
            raise ValueError(
                f"transfer_weights: layer {name!r} has shapes {[w.shape for w in src]} in "
                f"{old_model.name} but {dst_shapes} in {new_model.name}"
            )
        layer.set_weights(src)
        copied.append(name)
    return TransferReport(
        copied=tuple(sorted(copied)),
        new_only=tuple(sorted(set(new) - set(old))),
        old_only=tuple(sorted(set(old) - set(new))),
    )
