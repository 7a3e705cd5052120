"""Read-only answers for the accountant and the operator (DESIGN §4): `why` (a PO's story),
`export` (one row per PO handled), `reconcile` (QBO against Autotask), `health` (is the service
well). Nothing here writes to QuickBooks or Autotask; the command line and the screens call
these and only format the result."""
