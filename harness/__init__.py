"""What tests and benchmarks share: real dreamd and dream-batch processes, and the
reliability scenarios (``harness.reliability``) that both run, at CI and at full sizes.

Not part of dreamd: it is not in the wheel and no dreamd package imports it.
"""
