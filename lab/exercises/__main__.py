"""`python -m lab.exercises SRC DST`: the student versions of the notebooks in SRC."""

import sys

from .student import main

sys.exit(main())
