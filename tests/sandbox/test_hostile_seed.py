"""`atqbo sandbox --seed hostile` serves a company whose text fields are hostile, exactly as
seeded (the emulator neither cleans nor refuses what Autotask can hold)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx

from sync.sandbox.hostile_text import OSC_TITLE, PO_NUMBERS, VENDORS


def test_the_hostile_seed_is_served_as_seeded():
    proc = subprocess.Popen([sys.executable, "-m", "console.cli", "sandbox", "--seed", "hostile", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        info = json.loads(proc.stdout.readline())
        at = info["autotask"]
        zone = httpx.get(at["zone_lookup_url"], params={"user": at["username"]}).json()
        headers = {"ApiIntegrationCode": at["integration_code"], "UserName": at["username"], "Secret": at["secret"]}
        local = httpx.get(zone["url"] + "V1.0/Companies/0", headers=headers).json()["item"]
        assert OSC_TITLE in local["companyName"]
        pos = httpx.post(zone["url"] + "V1.0/PurchaseOrders/query", headers=headers,
                         json={"filter": [{"op": "gte", "field": "id", "value": 0}]}).json()["items"]
        numbers = {p["purchaseOrderNumber"] for p in pos}
        assert PO_NUMBERS["crlf"] in numbers and PO_NUMBERS["osc"] in numbers
        assert max(p["id"] for p in pos) > 2**31 - 1  # ids at the edge of 32 bits
        vendors = httpx.post(zone["url"] + "V1.0/Companies/query", headers=headers,
                             json={"filter": [{"op": "eq", "field": "companyType", "value": 7}]}).json()["items"]
        names = {v["companyName"] for v in vendors}
        assert set(VENDORS.values()) <= names, names
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(10) == 0
        finally:
            proc.kill()
