"""`python -m inpaint_bench.cli …` is `inpaint-bench …`."""

import sys

from . import main

sys.exit(main())
