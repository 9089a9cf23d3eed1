"""Writes this example's JSONL files (seeded, so the committed files are reproducible).

  python examples/shop_math/make_data.py

Each row: `question` (a one-step shopping word problem), `answer` (an integer),
`solution` (a worked one-line reference ending in 'The answer is N.'), `level`
(add, sub or mul). Files: train.jsonl (240), test.jsonl (60), fewshot.jsonl (2).
"""

import json
import os
import random

ITEMS = ["apples", "pens", "eggs", "cards", "books", "cups", "stamps", "shells"]
NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana"]


def row(rng: random.Random) -> dict:
  name, item, level = rng.choice(NAMES), rng.choice(ITEMS), rng.choice(["add", "sub", "mul"])
  if level == "add":
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    q = f"{name} has {a} {item} and buys {b} more. How many {item} does {name} have now?"
    ans, work = a + b, f"{a} + {b} = {a + b}"
  elif level == "sub":
    a = rng.randint(10, 60)
    b = rng.randint(1, a - 1)
    q = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
    ans, work = a - b, f"{a} - {b} = {a - b}"
  else:
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    q = f"{name} buys {a} bags with {b} {item} in each bag. How many {item} is that?"
    ans, work = a * b, f"{a} * {b} = {a * b}"
  return {"question": q, "answer": ans, "solution": f" {work}. The answer is {ans}.",
          "level": level}


def main():
  rng = random.Random(0)
  seen, rows = set(), []
  while len(rows) < 302:
    r = row(rng)
    if r["question"] not in seen:
      seen.add(r["question"])
      rows.append(r)
  here = os.path.dirname(os.path.abspath(__file__))
  for name, part in (("fewshot", rows[:2]), ("train", rows[2:242]), ("test", rows[242:])):
    with open(os.path.join(here, f"{name}.jsonl"), "w", encoding="utf-8") as f:
      f.writelines(json.dumps(r) + "\n" for r in part)


if __name__ == "__main__":
  main()
