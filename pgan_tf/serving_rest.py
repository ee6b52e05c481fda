"""Command: serve exported generators with TF Serving's REST predict API (pgan_tf.serving.rest).

    python -m pgan_tf.serving_rest --model_base_path exports/pgan --model_name pgan --port 8501
"""
import argparse
import sys

from pgan_tf.serving.rest import (
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    ModelRepository,
    make_server,
)


def main(argv=None):
    p = argparse.ArgumentParser(description="Serve a SavedModel with TF Serving's REST predict API (emulation).")
    p.add_argument("--model_base_path", required=True, help="directory holding integer version subdirectories")
    p.add_argument("--model_name", default="pgan")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--max_batch_size", type=int, default=DEFAULT_MAX_BATCH_SIZE,
                   help="most instances per predict request (a larger batch is answered 400)")
    p.add_argument("--max_body_bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                   help="largest request body in bytes (a larger one is answered 413, unread)")
    p.add_argument("--request_timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT,
                   help="seconds a client may stall mid-request before it is cut off")
    args = p.parse_args(argv)
    if args.max_batch_size < 1 or args.max_body_bytes < 1 or args.request_timeout <= 0:
        print("error: --max_batch_size, --max_body_bytes and --request_timeout must be positive", file=sys.stderr)
        return 2
    if not ModelRepository(args.model_base_path, args.model_name).versions():
        print(f"error: no <version>/saved_model.pb under {args.model_base_path}", file=sys.stderr)
        return 2
    server = make_server(args.model_base_path, args.model_name, args.host, args.port,
                         max_batch_size=args.max_batch_size, max_body_bytes=args.max_body_bytes,
                         request_timeout=args.request_timeout)
    print(f"serving {args.model_name} at http://{args.host}:{server.server_address[1]}/v1/models/{args.model_name}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
