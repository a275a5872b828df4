"""The marketplace's offers and customers as responders see them."""
