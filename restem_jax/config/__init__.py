"""The run config's schema: `RunConfig`, one tree of frozen dataclasses (schema.py, sections.py).

`main.py` and `plan.py` build it once from the run card (`schema.build`); everything below
them reads typed sections (`rc.sampler.temperature`, `rc.train.lora.rank`, ...).
"""
