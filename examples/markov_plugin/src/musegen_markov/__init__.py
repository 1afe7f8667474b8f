"""musegen-markov: a worked example of a third-party musegen model family.

`bar-markov` learns an order-N Markov chain over the bars of ABC tunes. The package has three
parts, each readable on its own:

- `tunes.py`:  ABC text to (header, bars) and back;
- `chain.py`:  the model: counting transitions and walking the chain;
- `family.py`: the musegen side: trainer, sampler and the `FAMILY` object that the entry point
  `musegen.plugins` -> `bar-markov` names.
"""

__version__ = "0.1.0"
