"""The experiment layer: replicated comparisons and parameter sweeps on a resumable run store,
with their statistics, figures and reports.

Imports run one way: ``compare``/``sweep`` -> ``report`` -> ``figures``/``stats``/``outcomes``/``specs``
-> the model layer (which never imports this package). The functions are ``marketsim.compare`` and
``marketsim.sweep`` (this package's modules keep the plain names).
"""
