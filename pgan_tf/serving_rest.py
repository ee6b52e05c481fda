"""Command: serve exported generators with TF Serving's REST predict API (pgan_tf.serving.rest).

python -m pgan_tf.serving_rest --model_base_path exports/pgan --model_name pgan --port 8501
"""

from __future__ import annotations

import sys

from pgan_tf.core import cli
from pgan_tf.serving.rest import (
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    ModelRepository,
    make_server,
)


def make_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(
        prog="python -m pgan_tf.serving_rest",
        description="Serve a SavedModel with TF Serving's REST predict API (emulation).",
    )
    p.add_argument(
        "--model_base_path", required=True, help="directory holding integer version subdirectories"
    )
    p.add_argument("--model_name", default="pgan")
    p.add_argument("--port", type=cli.integer, default=8501)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--max_batch_size",
        type=cli.integer,
        default=DEFAULT_MAX_BATCH_SIZE,
        help="most instances per predict request (a larger batch is answered 400)",
    )
    p.add_argument(
        "--max_body_bytes",
        type=cli.integer,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body in bytes (a larger one is answered 413, unread)",
    )
    p.add_argument(
        "--request_timeout",
        type=float,
        default=DEFAULT_REQUEST_TIMEOUT,
        help="seconds a client may stall mid-request before it is cut off",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m pgan_tf.serving_rest`: serves until Ctrl-C (exit code 130); 2 on bad flags."""
    args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.max_batch_size < 1 or args.max_body_bytes < 1 or args.request_timeout <= 0:
        return cli.fail(
            "--max_batch_size, --max_body_bytes and --request_timeout must be positive", cli.USAGE
        )
    if not ModelRepository(args.model_base_path, args.model_name).versions():
        return cli.fail(f"no <version>/saved_model.pb under {args.model_base_path}", cli.USAGE)
    try:
        server = make_server(
            args.model_base_path,
            args.model_name,
            args.host,
            args.port,
            max_batch_size=args.max_batch_size,
            max_body_bytes=args.max_body_bytes,
            request_timeout=args.request_timeout,
        )
    except OSError as e:  # the port is taken, the address is not ours
        return cli.fail(f"cannot serve at {args.host}:{args.port}: {e.strerror or e}", cli.FAILURE)
    url = f"http://{args.host}:{server.server_address[1]}/v1/models/{args.model_name}"
    try:
        print(f"serving {args.model_name} at {url}", flush=True)  # a log or a pipe sees it now
        server.serve_forever()
    except KeyboardInterrupt:
        return cli.INTERRUPTED
    finally:
        server.server_close()
    return cli.OK


if __name__ == "__main__":
    sys.exit(main())
