"""Real clients through the proxy: Claude Code runs scripted tasks against the target and the proxy judges its traffic.

``install.py`` puts Claude Code into the user's cache on first use; ``tasks.yaml`` holds the tasks
(prompt, files in the scratch folder, the answer expected) and the rule their verdicts report
under; ``runner.py`` runs each task in a scratch folder through a proxy on this process and turns
its outcome into a finding; ``command.py`` is ``anthropic-conformance clients``.
"""

from __future__ import annotations
