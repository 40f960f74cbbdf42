#!/usr/bin/env node
// The peerseal runtime in a third-party executor: compares what chopsticks (Acala's Substrate
// fork tool, which executes the runtime's wasm with its own executor and computes state roots
// with its own trie code) makes of the raw chain spec with what the peerseal dev node computes
// natively from the same spec: the genesis header (state root over every genesis storage entry,
// `:code` included) and hash, the runtime version the wasm reports against the native one, and
// the metadata's pallets.
//
// One difference is chopsticks' design, not the runtime's: its genesis provider answers a fixed
// placeholder (0x4545…, frame-system's `BlockHash[0]` before block #1) for the genesis block's
// hash and parent hash instead of hashing the header. So the genesis hash is compared by
// hashing chopsticks' genesis header with the zero parent hash every genesis header has.
//
// Then, against chopsticks alone, the feeless path of the peerseal pallets: the pre-registered
// dev server Alice's TSS account (`//Alice//tss`, which holds no funds) records a backup naming
// Bob's server (`Backup.record_backup`); the wasm runtime takes it without a fee and emits
// `Backup.BackupRecorded`, and the chain's storage holds the assignment.
//
// Usage: node check.mjs <chopsticks ws url> <peerseal-node ws url>
// Prints one `PASS` line and exits 0, or `FAIL: <why>` and exits 1; bounded (60 s).

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 20_000;

function fail(reason) {
  console.log(`FAIL: ${reason}`);
  process.exit(1);
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function connect(url) {
  const provider = new WsProvider(url, 1_000, {}, 15_000);
  return withTimeout(ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true }), `connecting to ${url}`);
}

// Submits `tx` signed by `signer` and resolves with the events of its block once in a block.
function submit(api, tx, signer) {
  return withTimeout(new Promise((resolve, reject) => {
    let unsubscribe;
    tx.signAndSend(signer, (result) => {
      if (result.isError || result.status.isInvalid || result.status.isDropped) {
        reject(new Error(`the transaction failed: ${result.status.type}`));
      } else if (result.status.isInBlock || result.status.isFinalized) {
        if (unsubscribe) unsubscribe();
        resolve(result);
      }
    }).then((u) => { unsubscribe = u; }, reject);
  }), 'a signed transaction');
}

async function feelessRecordBackup(url) {
  await cryptoWaitReady();
  const api = await connect(url);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const aliceTss = keyring.addFromUri('//Alice//tss');
  const bobTss = keyring.addFromUri('//Bob//tss');
  const server = await withTimeout(api.query.registry.stashOf(aliceTss.address), 'Registry.StashOf');
  if (server.isNone) fail('//Alice//tss is not a registered TSS account in the dev genesis');
  const before = (await api.query.system.account(aliceTss.address)).data.free.toBigInt();
  const commitment = new Uint8Array(32).fill(7);
  const tx = api.tx.backup.recordBackup(1, 1, [[bobTss.address, 1]], commitment, null);
  const result = await submit(api, tx, aliceTss);
  const names = result.events.map(({ event }) => `${event.section}.${event.method}`);
  if (result.dispatchError) fail(`record_backup failed: ${result.dispatchError.toString()}`);
  if (!names.includes('backup.BackupRecorded')) fail(`no Backup.BackupRecorded among ${names.join(', ')}`);
  if (names.includes('transactionPayment.TransactionFeePaid')) fail('record_backup paid a fee');
  const after = (await api.query.system.account(aliceTss.address)).data.free.toBigInt();
  if (after !== before) fail(`the TSS account's balance moved: ${before} -> ${after}`);
  const assignment = await api.query.backup.assignments(aliceTss.address);
  if (assignment.isNone) fail('no assignment in Backup.Assignments after the record');
  await api.disconnect();
  return names;
}

async function facts(url, { placeholderGenesis }) {
  const api = await connect(url);
  const served = await withTimeout(api.rpc.chain.getBlockHash(0), `${url} chain_getBlockHash(0)`);
  const header = await withTimeout(api.rpc.chain.getHeader(served), `${url} chain_getHeader`);
  const genesisHeader = api.createType('Header', {
    parentHash: new Uint8Array(32),
    number: 0,
    stateRoot: header.stateRoot,
    extrinsicsRoot: header.extrinsicsRoot,
    digest: header.digest,
  });
  const genesis = genesisHeader.hash.toHex();
  if (!placeholderGenesis && genesis !== served.toHex()) {
    fail(`${url} serves genesis ${served.toHex()} but its genesis header hashes to ${genesis}`);
  }
  const version = await withTimeout(api.rpc.state.getRuntimeVersion(), `${url} state_getRuntimeVersion`);
  const pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString()).sort();
  await api.disconnect();
  return {
    genesis,
    stateRoot: header.stateRoot.toHex(),
    spec: `${version.specName.toString()}/${version.specVersion.toNumber()}/${version.stateVersion.toNumber()}`,
    pallets: pallets.join(','),
  };
}

const [chopsticksUrl, nodeUrl] = process.argv.slice(2);
if (!chopsticksUrl || !nodeUrl) {
  fail('usage: node check.mjs <chopsticks ws url> <peerseal-node ws url>');
}
setTimeout(() => fail(`the whole check took longer than ${OVERALL_TIMEOUT_MS / 1000} s`), OVERALL_TIMEOUT_MS).unref();
try {
  const wasm = await facts(chopsticksUrl, { placeholderGenesis: true });
  const native = await facts(nodeUrl, { placeholderGenesis: false });
  console.log(`chopsticks: genesis state root ${wasm.stateRoot}, genesis ${wasm.genesis}, runtime ${wasm.spec}`);
  console.log(`peerseal-node: genesis state root ${native.stateRoot}, genesis ${native.genesis}, runtime ${native.spec}`);
  if (wasm.stateRoot !== native.stateRoot) fail('the genesis state roots differ');
  if (wasm.genesis !== native.genesis) fail('the genesis hashes differ');
  if (wasm.spec !== native.spec) fail('the wasm and native runtimes report different versions');
  if (wasm.pallets !== native.pallets) fail(`the metadata's pallets differ: ${wasm.pallets} vs ${native.pallets}`);
  const events = await feelessRecordBackup(chopsticksUrl);
  console.log(`chopsticks: //Alice//tss recorded a backup without funds or fee: ${events.join(', ')}`);
  console.log(`PASS: chopsticks runs the wasm runtime from the raw spec with the dev node's genesis state root and hash, runtime version and pallets (${wasm.pallets.split(',').length}), and takes a feeless record_backup`);
  process.exit(0);
} catch (e) {
  fail(e.message ?? String(e));
}
