"""The response clock: targets, business hours and how long each customer has waited."""
