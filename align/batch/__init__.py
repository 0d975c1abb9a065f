"""Many documents in one run: finding and pairing them (``discover``), running them with one
model load (``run``) and reporting what happened to each (``report``)."""
