"""Problem tasks for ReST-EM; importing this package registers them all.

Each module registers its `TaskSpec` (problem source, stop strings, checker, maj@k
answer; restem_jax/tasks/spec.py) with `registry.register`; load a split with
`registry.load_problems`. See docs/tasks.md for data layout and prompt formats.
"""

from restem_jax.tasks import apps
from restem_jax.tasks import arith_fewshot
from restem_jax.tasks import gsm8k
from restem_jax.tasks import humaneval
from restem_jax.tasks import math
from restem_jax.tasks import mbpp
from restem_jax.tasks import toy_code
from restem_jax.tasks import toy_arith
