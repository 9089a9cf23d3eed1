"""One path layer for every run-directory and checkpoint file: local, gs://, and more.

Built on `etils.epath` (TensorFlow's `tf.io.gfile` backs its `gs://`/`s3://` paths).
Loop and checkpoint code never call `open`/`os.path`/`shutil` on run-directory paths;
they call these functions, so a `gs://bucket/run` workdir behaves like a local one.
"""

from restem_jax.io.atomic import (write_bytes_atomic, write_json_atomic, write_text_atomic,
                                  write_tree_atomic)
from restem_jax.io.paths import (copy_tree, exists, is_local, isdir, join, listdir, makedirs,
                                 path, read_bytes, read_json, read_text, rmtree, write_bytes,
                                 write_text)
from restem_jax.io.schemes import register_gfile_scheme

__all__ = [
    "copy_tree", "exists", "is_local", "isdir", "join", "listdir", "makedirs", "path",
    "read_bytes", "read_json", "read_text", "register_gfile_scheme", "rmtree", "write_bytes",
    "write_bytes_atomic", "write_json_atomic", "write_text", "write_text_atomic",
    "write_tree_atomic",
]
