"""A run's outputs: the summary, metrics.jsonl, TensorBoard and report.md.

  training_summary.py  a training run's summary and metric rows from its stage records
  outputs.py           the one output writer (training and eval-only runs), atomic
  summary_schema.py    the summary's schema (validated before writing)
  report.py            report.md and plots of a training run (report_sections.py: shared
                       sections)
  report_eval.py       report.md of an eval-only run
  tensorboard.py       TensorBoard event files (the directory replaced as a whole)
"""
