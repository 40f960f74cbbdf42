#!/usr/bin/env node
// Drives a running peerseal dev node with polkadot.js, a client that shares no code with the
// chain: it proves that the node's JSON-RPC, metadata, storage layout, transaction format and
// events are the standard Substrate ones, not merely the ones our own Rust client expects.
//
// Usage: node check.mjs ws://127.0.0.1:<port>
// Prints one `PASS` line and exits 0, or prints `FAIL: <why>` and exits 1. The whole run is
// bounded (60 s), and so is each step, so a node that hangs fails the check instead of CI.

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const OVERALL_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 20_000;
const QUERY_TIMEOUT_MS = 10_000;
const TX_TIMEOUT_MS = 30_000;
// Each JSON-RPC request of the provider gives up after this long.
const RPC_REQUEST_TIMEOUT_MS = 15_000;
const REQUIRED_PALLETS = ['Registry', 'Attestation', 'Backup'];
const DEV_SS58_FORMAT = 42;

let step = 'start';
let api;

function fail(reason) {
  console.log(`FAIL: ${reason} (step: ${step})`);
  process.exit(1);
}

function check(condition, reason) {
  if (!condition) {
    fail(reason);
  }
}

// Rejects with a message naming what timed out, so a stuck call reads as a cause, not a hang.
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function log(message) {
  console.log(`polkadotjs: ${message}`);
}

// Runs `subscribe(callback)` (a polkadot.js subscription returning a promise of its
// unsubscribe function) until `onStatus` settles the returned promise; always unsubscribes.
function watch(subscribe, onStatus) {
  return new Promise((resolve, reject) => {
    let done = false;
    let unsubscribe;
    const settle = (fn, value) => {
      if (done) {
        return;
      }
      done = true;
      if (unsubscribe) {
        unsubscribe();
      }
      fn(value);
    };
    subscribe((item) => {
      try {
        onStatus(item, (value) => settle(resolve, value), (err) => settle(reject, err));
      } catch (err) {
        settle(reject, err);
      }
    })
      .then((unsub) => {
        unsubscribe = unsub;
        if (done) {
          unsub();
        }
      })
      .catch((err) => settle(reject, new Error(`submission rejected: ${err.message ?? err}`)));
  });
}

function isTerminalFailure(status) {
  return status.isInvalid || status.isDropped || status.isUsurped || status.isRetracted
    || status.isFinalityTimeout;
}

// `signAndSend` with a status callback, resolved once the transaction is finalized. Note:
// polkadot.js fetches a block's events before it reports an InBlock/Finalized status and
// switches to the newest status as soon as it arrives; the dev chain finalizes each block at
// once, so the InBlock report is usually superseded by Finalized (which implies inclusion).
// The raw status stream, InBlock included, is checked separately by `submitRaw`.
function signAndSendWatched(tx, signer) {
  let inBlock;
  return watch((cb) => tx.signAndSend(signer, cb), (result, resolve, reject) => {
    const { status } = result;
    log(`signAndSend status: ${status.type}`);
    if (result.internalError) {
      reject(new Error(`polkadot.js could not read the block's events: ${result.internalError.message}`));
    } else if (status.isInBlock) {
      inBlock = status.asInBlock.toHex();
    } else if (status.isFinalized) {
      const finalized = status.asFinalized.toHex();
      resolve({ inBlock: inBlock ?? finalized, finalized, events: result.events });
    } else if (isTerminalFailure(status)) {
      reject(new Error(`transaction ended with status ${status.type}`));
    }
  });
}

// Submits an already signed extrinsic over author_submitAndWatchExtrinsic and requires the
// standard status sequence: Ready, InBlock(h), Finalized(h).
function submitRaw(signed) {
  const seen = [];
  let inBlock;
  return watch((cb) => api.rpc.author.submitAndWatchExtrinsic(signed, cb), (status, resolve, reject) => {
    seen.push(status.type);
    log(`author_extrinsicUpdate: ${JSON.stringify(status.toJSON())}`);
    if (status.isInBlock) {
      inBlock = status.asInBlock.toHex();
    } else if (status.isFinalized) {
      const finalized = status.asFinalized.toHex();
      if (seen[0] !== 'Ready' || inBlock === undefined) {
        reject(new Error(`status stream was ${seen.join(' -> ')}; expected Ready -> InBlock -> Finalized`));
      } else {
        resolve({ inBlock, finalized });
      }
    } else if (isTerminalFailure(status)) {
      reject(new Error(`transaction ended with status ${status.type}`));
    }
  });
}

// Checks, from the chain itself rather than from a client's view of a subscription, that
// `blockHash` holds the transfer `txHash` from `from` to `to` of `amount`, that it succeeded with
// a Balances.Transfer event, and that the recipient's free balance rose by exactly `amount`.
async function verifyTransferInBlock(blockHash, txHash, from, to, amount) {
  const signedBlock = await withTimeout(api.rpc.chain.getBlock(blockHash), QUERY_TIMEOUT_MS,
    'chain_getBlock');
  const { block } = signedBlock;
  const index = block.extrinsics.findIndex((xt) => xt.hash.toHex() === txHash);
  check(index >= 0, `block ${blockHash} does not contain extrinsic ${txHash}`);
  const xt = block.extrinsics[index];
  check(xt.isSigned && xt.signer.toString() === from,
    `extrinsic ${txHash} is not signed by ${from}`);
  check(`${xt.method.section}.${xt.method.method}` === 'balances.transferKeepAlive',
    `extrinsic ${txHash} is ${xt.method.section}.${xt.method.method}`);

  const [atBlock, atParent] = await withTimeout(
    Promise.all([api.at(blockHash), api.at(block.header.parentHash)]),
    QUERY_TIMEOUT_MS,
    'api.at(block and parent)',
  );
  const [events, after, before] = await withTimeout(
    Promise.all([
      atBlock.query.system.events(),
      atBlock.query.system.account(to),
      atParent.query.system.account(to),
    ]),
    QUERY_TIMEOUT_MS,
    'System.Events and System.Account at the block',
  );
  const own = events.filter(({ phase }) => phase.isApplyExtrinsic
    && phase.asApplyExtrinsic.toNumber() === index);
  const failed = own.find(({ event }) => api.events.system.ExtrinsicFailed.is(event));
  if (failed) {
    const [dispatchError] = failed.event.data;
    let why = dispatchError.toString();
    if (dispatchError.isModule) {
      const meta = api.registry.findMetaError(dispatchError.asModule);
      why = `${meta.section}.${meta.name}`;
    }
    fail(`transfer ${txHash} failed on chain: ${why}`);
  }
  check(own.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)),
    `no System.ExtrinsicSuccess event for ${txHash}`);
  const transfer = own.find(({ event }) => api.events.balances.Transfer.is(event));
  check(transfer, `no Balances.Transfer event for ${txHash}`);
  const [evFrom, evTo, evAmount] = transfer.event.data;
  check(evFrom.toString() === from && evTo.toString() === to && evAmount.toBigInt() === amount,
    `Balances.Transfer is (${evFrom}, ${evTo}, ${evAmount}), expected (${from}, ${to}, ${amount})`);
  const gained = after.data.free.toBigInt() - before.data.free.toBigInt();
  check(gained === amount, `recipient's free balance rose by ${gained} in the block, expected ${amount}`);
  log(`block #${block.header.number} holds ${txHash} (extrinsic ${index}): events `
    + `${own.map(({ event }) => `${event.section}.${event.method}`).join(', ')}; `
    + `Bob's free ${before.data.free} -> ${after.data.free}`);
  return block.header.number.toNumber();
}

async function main() {
  const url = process.argv[2];
  check(url && /^wss?:\/\//.test(url), 'usage: node check.mjs ws://127.0.0.1:<port>');

  step = 'crypto';
  await withTimeout(cryptoWaitReady(), QUERY_TIMEOUT_MS, 'sr25519 wasm initialisation');

  step = 'connect';
  const provider = new WsProvider(url, 1_000, {}, RPC_REQUEST_TIMEOUT_MS);
  api = await withTimeout(
    ApiPromise.create({ provider, throwOnConnect: true }),
    CONNECT_TIMEOUT_MS,
    `ApiPromise.create(${url})`,
  );
  const [chain, nodeName, nodeVersion] = await withTimeout(
    Promise.all([api.rpc.system.chain(), api.rpc.system.name(), api.rpc.system.version()]),
    QUERY_TIMEOUT_MS,
    'system_chain/system_name/system_version',
  );
  const version = api.runtimeVersion;
  log(`connected to ${chain} (${nodeName} ${nodeVersion}), runtime ${version.specName} `
    + `v${version.specVersion}, genesis ${api.genesisHash.toHex()}`);
  check(api.registry.chainSS58 === DEV_SS58_FORMAT,
    `system_properties ss58Format is ${api.registry.chainSS58}, expected ${DEV_SS58_FORMAT}`);
  const decimals = api.registry.chainDecimals[0];
  check(Number.isInteger(decimals) && decimals > 0 && decimals <= 30,
    `system_properties tokenDecimals is ${api.registry.chainDecimals}`);

  step = 'metadata';
  const metadata = api.runtimeMetadata;
  const pallets = metadata.asLatest.pallets.map((p) => p.name.toString());
  log(`metadata V${metadata.version} decoded: ${pallets.length} pallets (${pallets.join(', ')})`);
  for (const name of REQUIRED_PALLETS) {
    check(pallets.includes(name), `pallet ${name} missing from the runtime metadata`);
  }
  check(api.tx.balances?.transferKeepAlive, 'balances.transferKeepAlive missing from the metadata');

  const keyring = new Keyring({ type: 'sr25519', ss58Format: DEV_SS58_FORMAT });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');

  step = 'storage';
  const [aliceAccount, bobBefore, now, servers, measurements] = await withTimeout(
    Promise.all([
      api.query.system.account(alice.address),
      api.query.system.account(bob.address),
      api.query.timestamp.now(),
      api.query.registry.servers.entries(),
      api.query.attestation.acceptedMeasurements(),
    ]),
    QUERY_TIMEOUT_MS,
    'storage queries',
  );
  const aliceFree = aliceAccount.data.free.toBigInt();
  check(aliceFree > 0n, `Alice's free balance is ${aliceFree}, expected > 0`);
  log(`System.Account(Alice).data.free = ${aliceFree}, nonce ${aliceAccount.nonce}`);
  const nowMs = now.toBigInt();
  // Any block timestamp within a day of this machine's clock proves the inherent is real.
  const skew = nowMs - BigInt(Date.now());
  check(skew < 86_400_000n && skew > -86_400_000n,
    `Timestamp.Now is ${nowMs}, which is not near the local clock ${Date.now()}`);
  log(`Timestamp.Now = ${nowMs} (${new Date(Number(nowMs)).toISOString()})`);
  check(servers.length > 0, 'Registry.Servers has no entries; the dev genesis registers servers');
  const serverAccounts = servers.map(([key]) => key.args[0].toString());
  log(`Registry.Servers: ${servers.length} entries (${serverAccounts.join(', ')})`);
  check(measurements.length > 0, 'Attestation.AcceptedMeasurements is empty in the dev genesis');
  log(`Attestation.AcceptedMeasurements: ${measurements.length} entries`);

  step = 'transfer (signAndSend)';
  const amount = 10n ** BigInt(decimals); // one whole token
  const tx = api.tx.balances.transferKeepAlive(bob.address, amount);
  log(`signAndSend balances.transferKeepAlive(Bob, ${amount}) from Alice`);
  const outcome = await withTimeout(signAndSendWatched(tx, alice), TX_TIMEOUT_MS,
    'transfer inclusion and finalization');
  log(`in block ${outcome.inBlock}, finalized ${outcome.finalized}`);
  // The events polkadot.js attached to the result, then the chain's own record of them.
  const names = outcome.events.map(({ event }) => `${event.section}.${event.method}`);
  check(outcome.events.some(({ event }) => api.events.balances.Transfer.is(event)),
    `signAndSend result has no Balances.Transfer event (events: ${names.join(', ')})`);
  check(!outcome.events.some(({ event }) => api.events.system.ExtrinsicFailed.is(event)),
    `signAndSend result reports System.ExtrinsicFailed (events: ${names.join(', ')})`);
  const firstBlock = await verifyTransferInBlock(outcome.inBlock, tx.hash.toHex(), alice.address,
    bob.address, amount);

  step = 'transfer (raw status stream)';
  const second = api.tx.balances.transferKeepAlive(bob.address, amount);
  await withTimeout(second.signAsync(alice), QUERY_TIMEOUT_MS, 'signAsync (nonce, era)');
  log(`author_submitAndWatchExtrinsic of a second transfer, nonce ${second.nonce}`);
  const raw = await withTimeout(submitRaw(second), TX_TIMEOUT_MS,
    'second transfer inclusion and finalization');
  const secondBlock = await verifyTransferInBlock(raw.inBlock, second.hash.toHex(), alice.address,
    bob.address, amount);

  step = 'balances';
  const bobAfter = await withTimeout(api.query.system.account(bob.address), QUERY_TIMEOUT_MS,
    'System.Account(Bob)');
  const gained = bobAfter.data.free.toBigInt() - bobBefore.data.free.toBigInt();
  check(gained === 2n * amount, `Bob's free balance rose by ${gained} overall, expected ${2n * amount}`);
  log(`Bob's free balance ${bobBefore.data.free} -> ${bobAfter.data.free}`);

  console.log(`PASS: ${api.libraryInfo} against ${chain}: metadata V${metadata.version} `
    + `decoded (${REQUIRED_PALLETS.join(', ')} present), storage read, two signed transfers `
    + `Alice -> Bob finalized in blocks #${firstBlock} and #${secondBlock}`);
}

const overall = setTimeout(() => fail(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s exceeded`),
  OVERALL_TIMEOUT_MS);

main()
  .then(async () => {
    clearTimeout(overall);
    step = 'disconnect';
    await withTimeout(api.disconnect(), 5_000, 'disconnect').catch(() => {});
    process.exit(0);
  })
  .catch((err) => fail(err?.message ?? String(err)));
