"""`carnel fuzz`'s parts: what to send a process (targets), the messages (inputs), the run
against the live image (campaign) and what it found (findings). Needs Hypothesis."""
