"""The monitor: every prediction kept, scored when its outcome arrives, inputs watched (issue #12).

Modules, one job each: ``predict`` (the champion on an inference partition ->
``predictions/dt=D/model=V/``), ``join`` (predictions x outcomes, as of a date),
``realized`` (error per version, horizon bucket and genre), ``estimate`` (the
direct loss estimation of partitions not yet matured), ``drift`` (each inference
partition since the champion's training against its reference), ``trigger``
(the pure decision: retrain or not, and why), ``report`` (the report, its
summary table, the write) and ``cli`` (the ``predict`` and ``monitor`` commands).
"""

#: Recorded in every predictions manifest and report; bump when their content changes.
MONITOR_VERSION = "1.0.0"
