"""The one-line form of errors (pgan_tf/core/errors.py)."""

import tensorflow as tf

from pgan_tf.core.errors import first_line


def test_first_line_of_a_multi_line_message():
    assert first_line(ValueError("  bad shape\n  more detail\n")) == "bad shape"


def test_skips_blank_lines_and_the_function_node_tag():
    exc = ValueError("\n{{function_node __inference_f_12}} corrupted record at 40\n[[node x]]")
    assert first_line(exc) == "corrupted record at 40"


def test_empty_message_gives_the_type_name():
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError("   ")) == "RuntimeError"


def test_with_type():
    assert first_line(OSError("no such file\nx"), with_type=True) == "OSError: no such file"
    assert first_line(ValueError(), with_type=True) == "ValueError"


def test_text():
    assert first_line("a\nb") == "a"
    assert first_line("") == ""


def test_tensorflow_errors_use_their_message():
    exc = tf.errors.DataLossError(None, None, "truncated record at 8\n\tdetails")
    assert first_line(exc) == "truncated record at 8"


def test_tensorflow_op_suffix_is_dropped():
    """Eager TensorFlow errors end their first line with `[Op:Name]`: not for the user's line."""
    import tensorflow as tf

    try:
        tf.io.read_file("/nonexistent/for/first_line")
    except tf.errors.NotFoundError as e:
        line = first_line(e)
    assert line.endswith("No such file or directory") and "[Op:" not in line
