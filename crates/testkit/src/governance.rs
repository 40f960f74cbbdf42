//! What chain governance does in the devnet and the tests, as the dev chain's sudo key
//! (//Alice) does it: signed `Sudo.sudo(..)` calls, waited for until finalized and successful; each returns the number of the block that holds
//! the change.

use crate::HarnessError;
use subxt::dynamic::Value;

fn chain_err(e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Chain(e.to_string())
}

/// `Sudo.sudo(Registry.remove { stash })`: governance removes a TSS server. Returns once the
/// removal is finalized and `Registry.ServerRemoved` was emitted.
pub async fn remove_server(url: &str, stash: [u8; 32]) -> Result<u64, HarnessError> {
    let remove = Value::unnamed_variant(
        "Registry",
        [Value::named_variant("remove", [("stash", Value::from_bytes(stash))])],
    );
    sudo(url, remove, ("Registry", "ServerRemoved")).await
}

/// `Sudo.sudo(Backup.set_recovery_operators { operators, threshold })`: governance names the
/// recovery operators, each `(account, x25519 public key)`. Returns once
/// `Backup.RecoveryOperatorsSet` is finalized.
pub async fn set_recovery_operators(
    url: &str,
    operators: &[([u8; 32], [u8; 32])],
    threshold: u8,
) -> Result<u64, HarnessError> {
    let operators = operators.iter().map(|(account, key)| {
        Value::named_composite([
            ("account", Value::from_bytes(account)),
            ("x25519_public_key", Value::from_bytes(key)),
        ])
    });
    let call = Value::unnamed_variant(
        "Backup",
        [Value::named_variant(
            "set_recovery_operators",
            [
                ("operators", Value::unnamed_composite(operators)),
                ("threshold", Value::u128(u128::from(threshold))),
            ],
        )],
    );
    sudo(url, call, ("Backup", "RecoveryOperatorsSet")).await
}

/// `Sudo.sudo(Attestation.accept_measurement { measurement })`: governance accepts an image
/// measurement (an upgrade). Returns once `Attestation.MeasurementAccepted` is finalized.
pub async fn accept_measurement(url: &str, measurement: [u8; 32]) -> Result<u64, HarnessError> {
    measurement_call(url, "accept_measurement", measurement, "MeasurementAccepted").await
}

/// `Sudo.sudo(Attestation.allow_mock_pck { pck })`: a dev chain accepts another mock PCK (a
/// mock TCB update). Returns once `Attestation.MockPckAllowed` is finalized.
pub async fn allow_mock_pck(url: &str, pck: [u8; 33]) -> Result<u64, HarnessError> {
    let call = Value::unnamed_variant(
        "Attestation",
        [Value::named_variant(
            "allow_mock_pck",
            [("pck", Value::unnamed_composite([Value::from_bytes(pck)]))],
        )],
    );
    sudo(url, call, ("Attestation", "MockPckAllowed")).await
}

/// `Sudo.sudo(Attestation.revoke_measurement { measurement })`: governance stops accepting an
/// image measurement. Returns once `Attestation.MeasurementRevoked` is finalized.
pub async fn revoke_measurement(url: &str, measurement: [u8; 32]) -> Result<u64, HarnessError> {
    measurement_call(url, "revoke_measurement", measurement, "MeasurementRevoked").await
}

async fn measurement_call(
    url: &str,
    call: &str,
    measurement: [u8; 32],
    event: &str,
) -> Result<u64, HarnessError> {
    let call = Value::unnamed_variant(
        "Attestation",
        [Value::named_variant(
            call,
            [("measurement", Value::unnamed_composite([Value::from_bytes(measurement)]))],
        )],
    );
    sudo(url, call, ("Attestation", event)).await
}

/// `Sudo.sudo(Registry.approve_move { tss_account, new_platform })`: governance allows a TSS
/// account to recover on another platform (PPID). Returns once `Registry.MoveApproved` is
/// finalized.
pub async fn approve_move(
    url: &str,
    tss_account: [u8; 32],
    platform: [u8; 16],
) -> Result<u64, HarnessError> {
    let approve = Value::unnamed_variant(
        "Registry",
        [Value::named_variant(
            "approve_move",
            [
                ("tss_account", Value::from_bytes(tss_account)),
                ("new_platform", Value::unnamed_composite([Value::from_bytes(platform)])),
            ],
        )],
    );
    sudo(url, approve, ("Registry", "MoveApproved")).await
}

/// `Sudo.sudo(Registry.revoke_move { tss_account })`: governance withdraws an approved move.
/// Returns once `Registry.MoveRevoked` is finalized.
pub async fn revoke_move(url: &str, tss_account: [u8; 32]) -> Result<u64, HarnessError> {
    let revoke = Value::unnamed_variant(
        "Registry",
        [Value::named_variant("revoke_move", [("tss_account", Value::from_bytes(tss_account))])],
    );
    sudo(url, revoke, ("Registry", "MoveRevoked")).await
}

/// `Sudo.sudo(call)` signed by //Alice; succeeds when the finalized block has the event
/// `(pallet, name)`, and returns that block's number (so a test can wait until the nodes have
/// verified it before it relies on them acting on the change).
pub async fn sudo(url: &str, call: Value, expect: (&str, &str)) -> Result<u64, HarnessError> {
    let api: subxt::OnlineClient<subxt::PolkadotConfig> =
        subxt::OnlineClient::from_insecure_url(url).await.map_err(chain_err)?;
    let sudo = subxt::dynamic::transaction("Sudo", "sudo", (call,));
    let in_block = api
        .tx()
        .await
        .map_err(chain_err)?
        .sign_and_submit_then_watch_default(&sudo, &subxt_signer::sr25519::dev::alice())
        .await
        .map_err(chain_err)?
        .wait_for_finalized()
        .await
        .map_err(chain_err)?;
    let events = in_block.wait_for_success().await.map_err(chain_err)?;
    let seen = events
        .iter()
        .any(|e| e.is_ok_and(|e| e.pallet_name() == expect.0 && e.event_name() == expect.1));
    if !seen {
        return Err(HarnessError::Chain(format!(
            "the sudo call emitted no {}.{}",
            expect.0, expect.1
        )));
    }
    Ok(in_block.at().await.map_err(chain_err)?.block_number())
}
