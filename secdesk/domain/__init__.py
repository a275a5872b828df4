"""The rules of the desk, in plain Python.

Nothing here imports Django (an import-linter contract proves it): the
lifecycle table, severity and priority policy, business calendars, the
permission policy, the confirmation-number codec and the domain errors.
"""
