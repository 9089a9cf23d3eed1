"""The ReST-EM loop, split by stage: the E-step (`estep/`), the M-step (`mstep.py`,
`mstep_stage.py`), evaluation (`evaluation/`), the summary and outputs (`reporting/`), the
run's setup (`run_setup.py`) and the driver that runs them (`runner.py`; eval-only runs:
`eval_only.py`); layering in tests/test_layering.py."""
