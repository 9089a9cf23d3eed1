r"""The few-shot program prompt for APPS: two introductory standard-input problems, solved.

Provenance: the paper (Singh et al. 2024, section 3) says only that the E-step conditions
the model on "a few-shot prompt with programs for code generation"; it does not publish
that prompt, and the evaluation settings it defers to (the PaLM 2 report) do not cover
APPS. These two problems and their programs are OURS, written for this project in the
APPS format (Hendrycks et al. 2021) — they are not APPS records, so no split loses a
problem to them (`restem_jax.tasks.apps` still drops any record whose question equals a
shot's, through `holdout.split_rows_without_shots`). One shot per statement style of the
introductory stdin problems (AtCoder: Constraints / Sample Input; Codeforces: `t` test
cases / Example); two, not more, because APPS statements are long (the fixture's
introductory ones are 202 to 669 SmolLM2 tokens) and every shot token is paid again in
every prompt bucket and every M-step training row. Each shot carries hidden tests besides
its sample; tests/tasks/test_apps_shots.py runs every program through the APPS checker on
them, so the prompt never teaches a wrong program.

Each example is

    QUESTION:\n<question>\n\nUse Standard Input format\nANSWER:\n<program>\n

(the empty line is the absent starter code, as `apps.prompt_for` writes it); examples are
joined by a blank line, so a model that finishes its program and goes on writes
`\nQUESTION:`, the task's stop sequence (`tasks/completion.py`).
"""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class Shot:
  question: str           # APPS-style statement, sample included
  program: str            # a complete stdin/stdout Python program
  inputs: tuple[str, ...]   # stdin of each test; the first is the statement's sample
  outputs: tuple[str, ...]  # expected stdout of each test

  def input_output(self) -> str:
    """The shot's tests as an APPS record's `input_output` field (JSON)."""
    return json.dumps({"inputs": list(self.inputs), "outputs": list(self.outputs)})


VOWELS = Shot(
    question="""You are given a string S consisting of lowercase English letters.
Print the number of vowels in S. The vowels are a, e, i, o and u.

-----Constraints-----
 - 1 \\leq |S| \\leq 100
 - S consists of lowercase English letters.

-----Input-----
Input is given from Standard Input in the following format:
S

-----Output-----
Print the number of vowels in S.

-----Sample Input-----
programming

-----Sample Output-----
3

The vowels of programming are o, a and i.""",
    program="""s = input().strip()
print(sum(1 for ch in s if ch in "aeiou"))""",
    inputs=("programming\n", "rhythm\n", "aeiou\n", "b\n", "queueing\n"),
    outputs=("3\n", "0\n", "5\n", "0\n", "5\n"))

VISIBLE = Shot(
    question="""There are $n$ students in a row, the $i$-th of them has height $h_i$. A student is visible if he is strictly taller than every student before him (the first student is always visible). Find the number of visible students.

You have to answer $t$ independent test cases.


-----Input-----

The first line contains one integer $t$ ($1 \\le t \\le 100$). Each test case consists of two lines: the first contains one integer $n$ ($1 \\le n \\le 100$), the second contains $n$ integers $h_1, \\dots, h_n$ ($1 \\le h_i \\le 1000$).


-----Output-----

For each test case, print the number of visible students.


-----Example-----
Input
2
4
1 3 2 5
3
3 3 3

Output
3
1""",
    program="""t = int(input())
for _ in range(t):
    n = int(input())
    heights = list(map(int, input().split()))
    tallest = 0
    visible = 0
    for h in heights:
        if h > tallest:
            tallest = h
            visible += 1
    print(visible)""",
    inputs=("2\n4\n1 3 2 5\n3\n3 3 3\n", "1\n1\n7\n", "1\n5\n5 4 3 2 1\n",
            "3\n5\n1 2 3 4 5\n2\n2 2\n6\n1 1000 999 1000 2 1000\n"),
    outputs=("3\n1\n", "1\n", "1\n", "5\n1\n2\n"))

SHOTS: tuple[Shot, ...] = (VOWELS, VISIBLE)
SHOT_QUESTIONS = tuple(s.question for s in SHOTS)


def question_block(question: str, starter_code: str = "", call_based: bool = False) -> str:
  """A problem as APPS prompts it; the program follows `ANSWER:\\n`."""
  fmt = "Call-Based" if call_based else "Standard Input"
  return f"QUESTION:\n{question.strip()}\n{starter_code}\nUse {fmt} format\nANSWER:\n"


FEWSHOT_PREFIX = "".join(question_block(s.question) + s.program + "\n\n" for s in SHOTS)
