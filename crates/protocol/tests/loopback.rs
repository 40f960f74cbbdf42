//! Two real libp2p swarms (tokio, TCP, noise, yamux) on 127.0.0.1 exchange requests with the
//! backup behaviour: a sealed `StoreBackup` answered by a signed receipt, and a refusal.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::StreamExt;
use libp2p::request_response::{self, Message, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, Swarm};
use peerseal_protocol::p2p::Behaviour;
use peerseal_protocol::*;
use std::time::Duration;
use support::*;

fn swarm(support: ProtocolSupport) -> Swarm<Behaviour> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| behaviour(support))
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(5)))
        .build()
}

/// What the provider in this test does with a request (a miniature of the real service).
fn serve(request: Request, provider_key: &AccountKeypair) -> Response {
    match request {
        Request::StoreBackup(store) => {
            let Ok((sender, payload)) = open(&x25519(10), DomainTag::StoreBackup, &store.envelope)
            else {
                return Response::Error(ErrorReason::BadEnvelope);
            };
            let Ok(share) = BackupShare::from_payload(&payload) else {
                return Response::Error(ErrorReason::InvalidRequest);
            };
            if share.account != sender {
                return Response::Error(ErrorReason::AccountMismatch);
            }
            let receipt = BackupReceipt {
                provider: provider_key.account(),
                client: sender,
                epoch: share.epoch,
                share_index: share.share_index,
                envelope_digest: store.envelope.digest(),
            };
            match SignedReceipt::sign(receipt, provider_key) {
                Ok(signed) => Response::BackupReceipt(signed),
                Err(_) => Response::Error(ErrorReason::Internal),
            }
        }
        _ => Response::Error(ErrorReason::NotRegistered),
    }
}

#[tokio::test]
async fn store_backup_and_refusal_over_real_libp2p() {
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        let provider_key = account_key(2);
        let client_key = account_key(1);
        let mut provider = swarm(ProtocolSupport::Full);
        let mut client = swarm(ProtocolSupport::Outbound);
        provider.listen_on("/ip4/127.0.0.1/tcp/0".parse::<Multiaddr>().unwrap()).unwrap();
        let addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = provider.select_next_some().await {
                break address;
            }
        };
        let provider_peer = *provider.local_peer_id();

        let share = sample_share(client_key.account(), 32);
        let envelope =
            seal(&x25519(10).public(), &client_key, DomainTag::StoreBackup, &share.to_payload())
                .unwrap();
        let digest = envelope.digest();
        let store_id = client.behaviour_mut().send_request_with_addresses(
            &provider_peer,
            Request::StoreBackup(StoreBackup { envelope }),
            vec![addr.clone()],
        );
        let nonce_id = client.behaviour_mut().send_request_with_addresses(
            &provider_peer,
            Request::RequestNonce(RequestNonce { account: client_key.account() }),
            vec![addr],
        );

        let mut receipt = None;
        let mut refusal = None;
        while receipt.is_none() || refusal.is_none() {
            tokio::select! {
                event = provider.select_next_some() => {
                    if let SwarmEvent::Behaviour(request_response::Event::Message {
                        message: Message::Request { request, channel, .. }, ..
                    }) = event {
                        let response = serve(request, &provider_key);
                        provider.behaviour_mut().send_response(channel, response).unwrap();
                    }
                }
                event = client.select_next_some() => match event {
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        peer, message: Message::Response { request_id, response }, ..
                    }) => {
                        assert_eq!(peer, provider_peer, "noise authenticates the responder");
                        if request_id == store_id { receipt = Some(response) }
                        else if request_id == nonce_id { refusal = Some(response) }
                    }
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure { error, .. }) => {
                        panic!("outbound failure: {error}");
                    }
                    _ => {}
                },
            }
        }
        (receipt.unwrap(), refusal.unwrap(), provider_key.account(), client_key.account(), digest)
    })
    .await
    .expect("loopback exchange finished within 30 s");

    let (receipt, refusal, provider_account, client_account, digest) = outcome;
    let Response::BackupReceipt(signed) = receipt else {
        panic!("expected a receipt: {receipt:?}")
    };
    let verified = signed.verify().unwrap();
    assert_eq!(verified.provider, provider_account);
    assert_eq!(verified.client, client_account);
    assert_eq!(verified.epoch, 7);
    assert_eq!(verified.envelope_digest, digest);
    assert_eq!(refusal, Response::Error(ErrorReason::NotRegistered));
}
