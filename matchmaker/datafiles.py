"""Where the reference data copied into the package lives (the exchange vocabulary, GB/T
4754-2017, the 300号 size rule): its own module, so that the readers of one file (vocab,
industries, sizes) need not import each other to find it."""
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
