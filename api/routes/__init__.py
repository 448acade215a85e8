"""The HTTP routes, a module per subject; each parses its input, calls one domain function and
renders the result. `api.app.create_app` assembles them."""
