"""Faults survived: `python -m tests.faults` runs `manage.py runall` through the faults production
throws at it and checks that every alert that should go out went out, once."""
