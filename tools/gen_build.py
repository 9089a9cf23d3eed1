"""Regenerates BUILD: one py_library per module, one py_test per test file."""
import os
lines = ['# Bazel targets, one py_library per module and one py_test per test file.',
         '# Regenerate with `python tools/gen_build.py`; tests/test_build_file.py checks it is in sync.',
         '', 'package(default_visibility = ["//visibility:public"])', '']
for root, _, files in sorted(os.walk('restem_jax')):
  for f in sorted(files):
    if f.endswith('.py'):
      path = os.path.join(root, f)
      name = path[:-3].replace('/', '_')
      lines += [f'py_library(', f'    name = "{name}",', f'    srcs = ["{path}"],', ')', '']
for root, _, files in sorted(os.walk('tests')):
  for f in sorted(files):
    if f.startswith('test_') and f.endswith('.py'):
      path = os.path.join(root, f)
      name = path[:-3].replace('/', '_')
      lines += ['py_test(', f'    name = "{name}",', f'    srcs = ["{path}"],', f'    main = "{path}",', ')', '']
open('BUILD', 'w').write('\n'.join(lines))
