"""py-substrate-interface against the peerseal dev chain: a client that shares no code with it.

Connects, reads storage (a value and an iterated map), signs and submits a transfer, waits for
inclusion, checks the balance moved, and that an invalid transaction is refused at once.
Usage: python3 check.py ws://127.0.0.1:<port>   (prints PASS, exits 0; anything else fails)
"""
import sys

from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

UNIT = 10**12


def main(url: str) -> None:
    s = SubstrateInterface(url=url, ws_options={"timeout": 30})
    print(f"pysubstrate: connected to {s.chain} ({s.name} {s.version})")
    alice = Keypair.create_from_uri("//Alice")
    bob = Keypair.create_from_uri("//Bob")
    free = s.query("System", "Account", [alice.ss58_address]).value["data"]["free"]
    assert free > 0, "Alice is funded in the dev genesis"
    servers = list(s.query_map("Registry", "Servers"))
    assert len(servers) == 4, f"expected the 4 dev TSS servers, got {len(servers)}"
    print(f"pysubstrate: Alice free {free}, {len(servers)} registered TSS servers")

    before = s.query("System", "Account", [bob.ss58_address]).value["data"]["free"]
    call = s.compose_call(
        call_module="Balances",
        call_function="transfer_keep_alive",
        call_params={"dest": bob.ss58_address, "value": UNIT},
    )
    xt = s.create_signed_extrinsic(call=call, keypair=alice)
    receipt = s.submit_extrinsic(xt, wait_for_inclusion=True)
    assert receipt.is_success, receipt.error_message
    after = s.query("System", "Account", [bob.ss58_address]).value["data"]["free"]
    assert after == before + UNIT, (before, after)
    print(f"pysubstrate: transfer included in {receipt.block_hash}; Bob {before} -> {after}")

    # The same signed extrinsic again has a stale nonce: an error at submission, not a hang.
    try:
        s.submit_extrinsic(xt, wait_for_inclusion=True)
    except SubstrateRequestException as err:
        print(f"pysubstrate: stale resubmission refused: {err}")
    else:
        raise AssertionError("a stale transaction must be refused")
    print("PASS: py-substrate-interface against peerseal dev")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as err:  # noqa: BLE001 - any failure is a FAIL line and exit 1
        print(f"FAIL: {type(err).__name__}: {err}")
        sys.exit(1)
