"""The E-step (Generate): sample, verify and keep correct solutions, in resumable chunks.

  generate.py       sampling + verification per chunk, chunk files, kept samples
  stage.py          iteration i's E-step stage: (stage record, kept samples), one read
  distill_reuse.py  distill mode: kept samples of a finished run's E-step
"""
