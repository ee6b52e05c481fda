"""pgan_tf: Progressive Growing of GANs (Karras et al., ICLR 2018) in TensorFlow 2 / Keras 3."""
from setuptools import find_packages, setup

setup(
    name="pgan_tf",
    version="0.1.0",
    description="Progressive Growing of GANs in TensorFlow 2 / Keras 3: data tools, "
    "distributed training, metrics and TF Serving export.",
    packages=find_packages(include=["pgan_tf", "pgan_tf.*"]),
    python_requires=">=3.9",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "tensorflow-datasets",
        # TFDS prepares its own builders (e.g. celeb_a_hq) through etils, which imports this
        # package without declaring it.
        "importlib_resources",
        "numpy",
        # SWD's compiled inner loops (pyramid, patches, exact sort-free 1-D distances)
        "numba>=0.60",
        # SWD runs BLAS single-threaded in its own threads (metrics/swd.py)
        "threadpoolctl",
        "pillow",
        "absl-py",
        "tensorboard",
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "lmdb", "tensorflow-serving-api>=2.16"],
        "lsun": ["lmdb"],
        "serving": ["tensorflow-serving-api>=2.16"],
    },
)
