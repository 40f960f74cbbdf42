//! # peerseal-finality: GRANDPA finality checks, with no I/O
//!
//! What it takes to believe a Substrate header is final, as pure functions and state: a
//! GRANDPA justification checked against an authority set ([`finality::verify_justification`]),
//! the authority-set change a header's digest schedules ([`finality::scheduled_change`]), and
//! the verified header chain that links headers by hash and enacts set changes at the right
//! block ([`headers::HeaderChain`]). The TSS node's verifying chain client (`peerseal-chain`)
//! follows an untrusted endpoint with it; the dev chain node (`peerseal-node`) checks the
//! justifications it stored with the same code, so the two can never disagree on what final
//! means.
//!
//! ## Dependencies
//! - `sp-consensus-grandpa`: the SDK's GRANDPA primitives (justification, commit and digest
//!   types, the localized-payload signature check).
//! - `finality-grandpa`: the reference GRANDPA implementation's commit validation (voter set,
//!   supermajority GHOST), the same check Substrate's own client makes.
//! - `sp-runtime` / `sp-core` / `sp-crypto-hashing`: the header type and its hash.
//! - `parity-scale-codec` (bounded decoding), `thiserror`, `hex` (error text).
//!
//! The bridges' `bp-header-chain` verifier was not used: it would link `frame-support` and the
//! bridge runtime crates into the TSS node for the same checks.

pub mod finality;
pub mod headers;
