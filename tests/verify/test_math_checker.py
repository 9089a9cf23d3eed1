"""check_math on the issue's vector table, plus MATH500/GSM8K gold answers."""

import json
import re
import time

import pytest

from restem_jax.verify.math_checker import answers_match, check_math
from restem_jax.verify.math_checker import normalize_answer

from conftest import FIXTURES, read_jsonl

TABLE = [
    (r'\frac{1}{2}', '0.5', True), (r'\frac{1}{2}', '1/2', True),
    (r'\frac{1}{2}', r'\dfrac12', True), (r'-\frac{1}{2}', '-1/2', True),
    (r'-\frac{1}{2}', r'\frac{-1}{2}', True), (r'40,\!000', '40000', True),
    ('500', '5', False), ('100000', '100001', False), ('(2,4)', '(2,4)', True),
    (r'\begin{pmatrix}1\\2\end{pmatrix}', r'\begin{pmatrix}1\\2\end{pmatrix}', True),
    (r'\begin{pmatrix}1\\2\end{pmatrix}', r'\begin{pmatrix} 1 \\ 2 \end{pmatrix}', True),
    ('[2,5)', '(2,5)', False), (r'\frac{1}{2^{99}}', r'\frac{1}{2^{98}}', False),
    ('2021', r'\pm 2021', False), ('10', r'10\text{ cm}', True),
    ('10', r'10^\circ', True), ('5', 'x = 5', True), ('4', r'4\sqrt{2}', False),
    # beyond the table
    ('(2,4)', '(4,2)', False), (r'\{1,2\}', '2, 1', True),
    (r'\frac{\sqrt{2}}{2}', r'\frac{1}{\sqrt{2}}', True),
    ('x^2+2x+1', '(x+1)^2', True), (r'\frac{1}{3}', '0.333', False),
    (r'\pm 3', '3, -3', True), (r'(-\infty, 3]', r'(-\infty,3)', False),
    (r'\$1,\!234.50', '1234.5', True), ('50\\%', '50', True),
    (r'\text{(B)}', 'B', True), ('12', '12.', True),
]


@pytest.mark.parametrize('gold,pred,equal', TABLE)
def test_table(gold, pred, equal):
  verdict = check_math(f'We find $\\boxed{{{pred}}}$.', gold)
  assert verdict.status == ('correct' if equal else 'incorrect'), verdict


def test_no_answer_is_error_with_reward_zero():
  verdict = check_math('I could not solve it.', '3')
  assert (verdict.status, verdict.detail, verdict.reward) == ('error', 'no_answer', 0.0)


def test_power_tower_gets_a_verdict_quickly_in_process():
  start = time.monotonic()
  sample = r'\boxed{\dfrac{5^{(5^{(5^{(5^5)})} - 4)} - 5}{16}}'
  verdict = check_math(sample, '7')
  assert verdict.status == 'incorrect' and time.monotonic() - start < 5


def test_power_tower_through_pool_within_deadline(pool):
  start = time.monotonic()
  sample = r'\boxed{\dfrac{5^{(5^{(5^{(5^5)})} - 4)} - 5}{16}}'
  verdict = pool.submit('math', sample, {'answer': '5'}).result(timeout=30)
  assert verdict.status in ('incorrect', 'timeout')
  assert time.monotonic() - start < 20.0 + 3.0


@pytest.mark.parametrize('variants', [
    ['0.5', '1/2', r'\frac{1}{2}', r'\dfrac12', r'\tfrac{1}{2}', '.5'],
    [r'-\frac{1}{2}', r'\frac{-1}{2}', '-1/2', '-0.5'],
    ['40000', r'40,\!000', '40,000', r'\$40,000', '40000.'],
])
def test_normalize_answer_groups_votes(variants):
  assert len({normalize_answer(v) for v in variants}) == 1


def test_normalize_answer_keeps_distinct_answers_apart():
  keys = {normalize_answer(a) for a in ['500', '5', '2021', r'\pm 2021', '[2,5)', '(2,5)']}
  assert len(keys) == 6


def _reformat(answer: str) -> list[str]:
  """Equivalent spellings of a MATH gold answer."""
  out = [f'The answer is $\\boxed{{{answer}}}$.',
         f'Final Answer: The final answer is ${answer}$. I hope it is correct.']
  spaced = re.sub(r'\\frac', r'\\dfrac', answer).replace(',', ', ')
  spaced = spaced.replace('(', r'\left(').replace(')', r'\right)')
  out.append(f'So $\\boxed{{ {spaced} }}$')
  return out


def test_math500_gold_verifies_against_itself_and_reformattings(pool, shared_file):
  records = read_jsonl(shared_file('math/math500_test.jsonl'))
  jobs = []
  for r in records:
    jobs.append(('math', r['solution'], r))
    jobs += [('math', text, {'answer': r['answer']}) for text in _reformat(r['answer'])]
  verdicts = pool.map(jobs)
  failures = [(job[2].get('unique_id', job[2]['answer']), job[1][-80:], v)
              for job, v in zip(jobs, verdicts) if not v.is_correct]
  assert not failures, failures[:10]


def test_math500_fixture_in_process():
  for r in read_jsonl(FIXTURES / 'math500_head.jsonl'):
    assert check_math(r['solution'], r['answer']).is_correct, r['unique_id']


def test_gsm8k_gold_answers_with_commas(pool, shared_file):
  records = read_jsonl(shared_file('gsm8k/test.jsonl'))
  with_commas = [r for r in records if re.search(r'####\s*\d{1,3}(,\d{3})+', r['answer'])]
  assert with_commas, 'GSM8K test has answers with thousands separators'
  jobs = [('gsm8k', r['answer'], r) for r in records]
  jobs += [('gsm8k', 'The answer is ' + r['answer'].split('####')[1].strip() + '.', r)
           for r in with_commas]
  verdicts = pool.map(jobs)
  bad = [j[1][-40:] for j, v in zip(jobs, verdicts) if not v.is_correct]
  assert not bad, bad[:5]


def test_gsm8k_wrong_number_is_incorrect():
  assert not answers_match('1,234', '1,235')
