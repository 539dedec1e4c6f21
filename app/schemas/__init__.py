"""Request and response models, one module per router (app/routers/NAME.py ↔ app/schemas/NAME.py).

Requests are strict (no `false` as a number), closed (unknown fields are errors) and bounded; names
are checked against the core registries.
"""
