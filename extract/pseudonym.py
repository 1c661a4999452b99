"""The pseudonym secret's environment variable, in a module of its own.

``cd2 run`` checks the variable before it starts; importing it from ``extract.dbt_plugin`` would
load dbt's adapter classes (about 0.8 s) before the sync, on the critical path of every run.
"""

from __future__ import annotations

SECRET_ENV = "CD2_PSEUDONYM_SECRET"
