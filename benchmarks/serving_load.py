"""Latency of `pgan_tf.serving.rest` under concurrent clients, on 127.0.0.1 only.

Exports a generator (random weights, --resolution, --latent_size) into a temporary directory
(or serves --model_base_path), starts the server in this process on a free loopback port, then
runs --threads clients that each send --requests predict requests of --batch latents and check
every answer's shape. It prints p50 / p99 / max latency and requests/s for one client alone and
for all of them at once, and the ratio p50(concurrent) / p50(alone) measured in the same run
(the machine is noisy: the ratio is the number to compare between runs). Every loop is bounded.

    python benchmarks/serving_load.py [--threads 8] [--requests 50] [--batch 4] [--resolution 32]
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

import pgan_tf  # noqa: F401  (quiet TF logs before TensorFlow loads)
from pgan_tf.model import networks
from pgan_tf.serving import export
from pgan_tf.serving import rest as serving_rest


def _post(url, body, timeout=120):
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def run_clients(url, threads, requests, batch, latent_size, image_shape):
    """(latencies in seconds, wall seconds, errors) of `threads` clients × `requests` requests."""
    latencies, errors = [], []
    lock = threading.Lock()

    def client(seed):
        rng = np.random.RandomState(seed)
        for _ in range(requests):
            body = {"instances": rng.randn(batch, latent_size).astype(np.float32).tolist()}
            start = time.perf_counter()
            try:
                status, answer = _post(url, body)
                ok = status == 200 and np.asarray(answer["predictions"]).shape == (
                    batch,
                    *image_shape,
                )
            except Exception as e:  # noqa: BLE001 - a failed request is counted, not fatal
                ok, answer = False, repr(e)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors.append(str(answer)[:200])

    workers = [threading.Thread(target=client, args=(seed,)) for seed in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=3600)
    return np.array(latencies), time.perf_counter() - start, errors


def report(name, latencies, wall):
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(
        f"{name:<22} {len(latencies):5d} requests  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  "
        f"max {latencies.max() * 1000:8.1f} ms  {len(latencies) / wall:7.1f} req/s"
    )
    return p50


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--requests", type=int, default=50, help="requests per client")
    p.add_argument("--batch", type=int, default=4, help="latents per request")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--latent_size", type=int, default=64)
    p.add_argument(
        "--model_base_path", default="", help="serve this export instead of a fresh random one"
    )
    p.add_argument("--model_name", default="pgan")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        base = args.model_base_path
        if not base:
            config = networks.NetworkConfig(
                fmap_base=256, fmap_max=64, latent_size=args.latent_size
            )
            export.export_generator(
                networks.build_generator(config, args.resolution), tmp, args.model_name
            )
            base = os.path.join(tmp, args.model_name)
        server = serving_rest.make_server(base, args.model_name)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/models/{args.model_name}"
        try:
            meta = json.loads(urllib.request.urlopen(url + "/metadata", timeout=120).read())
            sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
            latent_size = int(sig["inputs"]["latents"]["tensor_shape"]["dim"][1]["size"])
            image_shape = tuple(
                int(d["size"]) for d in sig["outputs"]["images"]["tensor_shape"]["dim"][1:]
            )
            print(
                f"serving {base} at {url}: latents {latent_size}, images {image_shape}, "
                f"batch {args.batch}"
            )
            run_clients(
                url + ":predict", 1, 5, args.batch, latent_size, image_shape
            )  # warm-up: load, trace
            alone, wall1, err1 = run_clients(
                url + ":predict", 1, args.requests, args.batch, latent_size, image_shape
            )
            many, wall8, err8 = run_clients(
                url + ":predict", args.threads, args.requests, args.batch, latent_size, image_shape
            )
        finally:
            server.shutdown()
            server.server_close()
    p50_alone = report("1 client", alone, wall1)
    p50_many = report(f"{args.threads} clients at once", many, wall8)
    print(
        f"p50 ratio concurrent/alone: {p50_many / p50_alone:.2f}   throughput ratio: "
        f"{(len(many) / wall8) / (len(alone) / wall1):.2f}"
    )
    errors = err1 + err8
    print(f"wrong or failed answers: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
