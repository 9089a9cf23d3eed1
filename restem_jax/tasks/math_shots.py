r"""The Minerva 4-shot prompt for Hendrycks MATH (Lewkowycz et al. 2022; as in lm-eval `minerva_math`).

Each shot is `Problem:\n<problem>\n\nSolution:\n<solution>` where the solution ends in
`Final Answer: The final answer is <X>. I hope it is correct.`; shots are joined by a
blank line and a test problem ends the prompt with `Solution:`, so the model writes
`\n<solution>` next. One change from lm-eval's text: its first problem carries a stray
`}` after the closing `$`, dropped here. All four problems are MATH *train* problems;
`restem_jax.tasks.math` removes them from every split.
"""

from __future__ import annotations

SHOTS: tuple[tuple[str, str, str], ...] = (  # (problem, solution, final answer)
    (r"Find the domain of the expression  $\frac{\sqrt{x-2}}{\sqrt{5-x}}$.",
     r"The expressions inside each square root must be non-negative. Therefore, $x-2 \ge 0$, "
     r"so $x\ge2$, and $5 - x \ge 0$, so $x \le 5$. Also, the denominator cannot be equal to "
     r"zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is "
     r"$\boxed{[2,5)}$.",
     "[2,5)"),
    (r"If $\det \mathbf{A} = 2$ and $\det \mathbf{B} = 12,$ then find "
     r"$\det (\mathbf{A} \mathbf{B}).$",
     r"We have that $\det (\mathbf{A} \mathbf{B}) = (\det \mathbf{A})(\det \mathbf{B}) "
     r"= (2)(12) = \boxed{24}.$",
     "24"),
    ("Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights "
     "instead, how many times must Terrell lift them in order to lift the same total weight?",
     r"If Terrell lifts two 20-pound weights 12 times, he lifts a total of "
     r"$2\cdot 12\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead "
     r"for $n$ times, he will lift a total of $2\cdot15\cdot n=30n$ pounds of weight.  "
     r"Equating this to 480 pounds, we can solve for $n$:" "\n"
     r"\begin{align*}" "\n" r"30n&=480\\" "\n" r"\Rightarrow\qquad n&=480/30=\boxed{16}"
     "\n" r"\end{align*}",
     "16"),
    ("If the system of equations\n\n" r"\begin{align*}" "\n" r"6x-4y&=a,\\" "\n"
     r"6y-9x &=b." "\n" r"\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both "
     "nonzero,\n" r"find $\frac{a}{b},$ assuming $b$ is nonzero.",
     r"If we multiply the first equation by $-\frac{3}{2}$, we obtain" "\n\n"
     r"$$6y-9x=-\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have" "\n\n"
     r"$$-\frac{3}{2}a=b\Rightarrow\frac{a}{b}=\boxed{-\frac{2}{3}}.$$",
     r"-\frac{2}{3}"),
)


def final_answer_line(answer: str) -> str:
  return f"Final Answer: The final answer is ${answer}$. I hope it is correct."


def question_block(problem: str) -> str:
  """A problem as the prompt shows it; the model continues right after `Solution:`."""
  return f"Problem:\n{problem}\n\nSolution:"


def solution_block(solution: str, answer: str) -> str:
  """What follows `Solution:` for a worked solution: the SFT target for MATH."""
  return f"\n{solution.strip()}\n{final_answer_line(answer)}"


FEWSHOT_PREFIX = "".join(
    question_block(p) + solution_block(s, a) + "\n\n" for p, s, a in SHOTS)
SHOT_PROBLEMS = tuple(p for p, _, _ in SHOTS)


def prompt_for(problem: str) -> str:
  return FEWSHOT_PREFIX + question_block(problem)
