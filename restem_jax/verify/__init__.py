"""Verifiers for ReST-EM: the reward r(x, y) and the pool that computes it.

Kept import-light on purpose: importing ``restem_jax.verify`` loads no sympy, no
JAX and starts no process. Import the submodules you need:

- ``verdict``        -- the ``Verdict`` value every checker returns.
- ``math_checker``   -- answer extraction, normalisation and equivalence (MATH, GSM8K).
- ``code_runner``    -- HumanEval / MBPP / APPS checkers on top of ``sandbox``.
- ``checkers``       -- task name -> ``(sample, problem) -> Verdict`` registry.
- ``checker_spec``   -- ``verifier.checker=SPEC``: a built-in (``builtin_checkers``) or a
                        user function (``user_checker``), as one verifier-pool key.
- ``pool``           -- ``VerifierPool``: persistent CPU-only worker processes.
- ``python -m restem_jax.verify`` -- the JSONL command line tool.
"""
