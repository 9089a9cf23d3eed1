"""The E-step's training cut uses continuation decoding, like the sampler's texts."""

from restem_jax import vocab
from restem_jax.loop.estep import generate as estep
from tests.vocab import real_tokenizers


def test_training_cut_matches_the_verified_text_on_sentencepiece(tmp_path):
  """A HumanEval sample '    return x\\ndef g' is cut before '\\ndef '; the kept ids must
  decode (after the prompt) to exactly the text the checker saw, 4 spaces included."""
  v = vocab.load(real_tokenizers.mistral_hf_dir(str(tmp_path)))
  prompt = v.encode_prompt('def f(x):\n    """x."""\n')
  full = v.encode_prompt('def f(x):\n    """x."""\n    return x\ndef g(): pass')
  assert full[:len(prompt)] == prompt
  sample = full[len(prompt):] + [v.eos_id]
  text = v.decode_continuation(prompt, sample)
  assert text == "    return x\ndef g(): pass"
  kept = estep.training_tokens(v, "humaneval", sample, text, prompt)
  assert kept[-1] == v.eos_id
  assert v.decode_continuation(prompt, kept) == "    return x"
  assert v.encode_prompt('def f(x):\n    """x."""\n    return x')[len(prompt):] == kept[:-1]



def test_sft_target_is_the_continuation_of_the_prompt(tmp_path):
  """encode(solution) alone would add SentencePiece's dummy-prefix space ('▁▁▁▁▁')."""
  v = vocab.load(real_tokenizers.mistral_hf_dir(str(tmp_path)))
  prompt_text, solution = 'def f(x):\n    """x."""\n', "    return x"
  prompt = v.encode_prompt(prompt_text)
  target = vocab.encode_target(v, prompt_text, prompt, solution)
  assert prompt + target == v.encode_prompt(prompt_text + solution)
  assert v.decode_continuation(prompt, target) == solution
  assert v.decode_continuation(prompt, list(v.encode(solution))) == " " + solution  # the bug
  toy = vocab.load("")
  assert vocab.encode_target(toy, "1+2=", toy.encode_prompt("1+2="), "3") == list(toy.encode("3"))
