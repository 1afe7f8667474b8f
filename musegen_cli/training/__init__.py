"""The training chassis every family's trainer stands on (built-in or third-party).

One module per job: ``options`` (``--set`` keys validated from their dataclass fields),
``schedule`` (warmup + cosine learning rate), ``start`` (resume / init-from / preset triage),
``state`` (optimizer moments and RNG, saved without pickle), ``run_folder`` (``last`` and
the best model, written atomically) and ``loop`` (the clock, the progress window, AdamW
groups and one optimizer step). ``options`` and ``schedule`` import no torch, so a family's
options module can use them and ``musegen train --help`` stays light.
"""
