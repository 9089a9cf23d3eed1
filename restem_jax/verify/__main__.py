"""Makes ``python -m restem_jax.verify`` run the command line tool in ``cli.py``."""

import sys

from restem_jax.verify import cli

if __name__ == '__main__':
  sys.exit(cli.main())
