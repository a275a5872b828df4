"""The responders' dashboard: charts drawn server-side as SVG, each with a text alternative."""
