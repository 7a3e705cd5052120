"""Local emulators of Autotask REST v1.0, QuickBooks Online v3 and Intuit OAuth 2.0.

They share no code with atqbo's clients or engine (an emulator that reused the client's own
query builder would agree with the client's bugs), and the engine never imports them.
"""
