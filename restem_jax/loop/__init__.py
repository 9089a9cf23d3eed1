"""The ReST-EM loop: its stages (E-step, M-step, evaluation, reporting) and the driver that runs
them (`runner.py`); layering in tests/test_layering.py."""
