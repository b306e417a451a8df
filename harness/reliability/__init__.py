"""Reliability scenarios, shared by ``tests/reliability`` (CI sizes) and
``benchmarks/reliability.py`` (the full sizes of issue 6).

Every scenario starts what it needs — real ``dreamd`` processes (``harness.daemon``), real
``dream-batch`` runs (``harness.batch``) — does its thing a number of times and returns
:class:`~harness.reliability.rows.Row` s: what was tried, how many times, what held, and
whether that is what must hold. Tests assert ``row.ok``; the benchmark prints the rows as
one table. The scenarios: ``load`` (load, soak), ``faults`` (kill_mid_batch, kill_client,
sigstop, disk_full), ``hostile`` (fuzz_decoder, fuzz_live, oversized, flood; its broken
messages come from ``broken_wire`` and ``broken_fields``) and ``access`` (access_ipc,
access_binds, access_curve).

Sizes come from :class:`~harness.reliability.sizes.Sizes`: ``DREAMD_RELIABILITY_SCALE=ci``
(the default for tests, a few minutes on two cores) or ``full``. Dreams are tiny (32×32 to
64×48, one octave, one or two steps, efficientnet-lite0 on the CPU) so that thousands of
them stay cheap.
"""
