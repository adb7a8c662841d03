"""Benchmarks: `make bench`. Each prints its figures beside a baseline measured in the same run."""

import warnings

# nameko 2.14 imports eventlet, which warns on import; spawned load-generator processes import this first.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
