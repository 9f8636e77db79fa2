"""The bench harness: measurements, limits, and the reports made from them."""
