//! Running one pallet's benchmarks over the component values and fitting their weights.
//!
//! Each component value set runs twice: once with access counting on (reads, writes and the
//! keys behind the proof-size estimate) and `repeat` times with it off (time, so the counting
//! does not inflate it). The fits are FRAME's own least-squares fit over the interquartile
//! range ([`Analysis::min_squares_iqr`]), the analysis `frame-benchmarking-cli` uses by default.

use std::collections::{BTreeMap, HashMap};

use frame_benchmarking::{
    Analysis, BenchmarkError, BenchmarkMetadata, BenchmarkParameter, BenchmarkResult,
    BenchmarkSelector,
};
use frame_support::traits::StorageInfo;
use sp_runtime::traits::BlakeTwo256;
use sp_state_machine::{Ext, OverlayedChanges};
use sp_storage::TrackedStorageKey;

use crate::backend::BenchBackend;

/// `Benchmarking::benchmarks` of one pallet.
pub type ListFn = fn(bool) -> Vec<BenchmarkMetadata>;
/// `Benchmarking::run_benchmark` of one pallet.
pub type RunFn = fn(
    &[u8],
    &[(BenchmarkParameter, u32)],
    &[TrackedStorageKey],
    bool,
    u32,
) -> Result<Vec<BenchmarkResult>, BenchmarkError>;

/// Extra trie nodes assumed above every storage item in the proof-size estimate (the CLI's
/// default `--additional-trie-layers`).
const ADDITIONAL_TRIE_LAYERS: u32 = 2;
/// Entries assumed in a map without `max_values` (the CLI's default `--worst-case-map-values`).
const WORST_CASE_MAP_VALUES: u32 = 1_000_000;
/// Proof bytes of one trie node on the path to a value: up to 15 sibling hashes of 33 bytes.
const NODE_PROOF: u32 = 15 * 33;

/// How the runner measures.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Values per component (spread evenly from its lowest to its highest).
    pub steps: u32,
    /// Timing runs per component value set.
    pub repeat: u32,
}

/// A fitted linear formula: `base + Σ slope(c) · c`.
#[derive(Clone, Debug, Default)]
pub struct Term {
    pub base: u128,
    pub slopes: BTreeMap<String, u128>,
}

impl Term {
    /// This term minus `other` (each coefficient saturating at zero).
    pub fn minus(&self, other: &Term) -> Term {
        let slopes = self
            .slopes
            .iter()
            .map(|(name, slope)| {
                let theirs = other.slopes.get(name).copied().unwrap_or(0);
                (name.clone(), slope.saturating_sub(theirs))
            })
            .collect();
        Term { base: self.base.saturating_sub(other.base), slopes }
    }
}

/// The measured weight formula of one benchmark.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// `(component, lowest, highest)`.
    pub components: Vec<(String, u32, u32)>,
    /// Execution time in picoseconds (the unit of `ref_time`).
    pub time: Term,
    /// Distinct storage keys read (whitelisted ones excluded).
    pub reads: Term,
    /// Distinct storage keys written (whitelisted ones excluded).
    pub writes: Term,
    /// Estimated proof size in bytes.
    pub proof: Term,
    /// Fastest single run, in nanoseconds.
    pub min_time_ns: u128,
    /// The storage items accessed at the highest component values, for the weights' docs.
    pub storage: Vec<String>,
}

/// Runs `f` in externalities over `backend` with a fresh overlay (a benchmark's `wipe_db`
/// and `commit_db` drain the overlay, so none is reused).
pub fn with_ext<R>(backend: &BenchBackend, f: impl FnOnce() -> R) -> R {
    let mut overlay = OverlayedChanges::<BlakeTwo256>::default();
    let mut ext = Ext::new(&mut overlay, backend, None);
    sp_externalities::set_and_run_with_externalities(&mut ext, f)
}

/// Everything a pallet's benchmarks need from the runtime.
pub struct Target<'a> {
    pub backend: &'a BenchBackend,
    pub run: RunFn,
    pub whitelist: &'a [TrackedStorageKey],
    pub storage_info: &'a [StorageInfo],
}

fn describe(error: BenchmarkError) -> String {
    match error {
        BenchmarkError::Stop(reason) => reason.to_string(),
        BenchmarkError::Override(_) => "the benchmark overrides its result".into(),
        BenchmarkError::Skip => "the benchmark skipped itself".into(),
        BenchmarkError::Weightless => "the benchmark declared itself weightless".into(),
    }
}

impl Target<'_> {
    /// One call of `run_benchmark` at `components`.
    fn run(
        &self,
        name: &str,
        components: &[(BenchmarkParameter, u32)],
        verify: bool,
        repeat: u32,
    ) -> Result<Vec<BenchmarkResult>, String> {
        with_ext(self.backend, || {
            (self.run)(name.as_bytes(), components, self.whitelist, verify, repeat)
        })
        .map_err(|e| format!("{name} at {components:?}: {}", describe(e)))
    }

    /// Runs `bench` once with verification at its lowest and its highest component values:
    /// the quick check that every benchmark still works against the runtime.
    pub fn check(&self, bench: &BenchmarkMetadata) -> Result<(), String> {
        let name = String::from_utf8_lossy(&bench.name).into_owned();
        let low: Vec<_> = bench.components.iter().map(|(p, low, _)| (*p, *low)).collect();
        let high: Vec<_> = bench.components.iter().map(|(p, _, high)| (*p, *high)).collect();
        self.backend.set_tracking(true);
        self.run(&name, &low, true, 1)?;
        if high != low {
            self.run(&name, &high, true, 1)?;
        }
        Ok(())
    }

    /// Measures `bench` over its component values and fits its weight formula.
    pub fn measure(&self, bench: &BenchmarkMetadata, settings: Settings) -> Result<Fitted, String> {
        let name = String::from_utf8_lossy(&bench.name).into_owned();
        let sets = component_sets(&bench.components, settings.steps);
        let mut db_results = Vec::new();
        let mut time_results = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            self.backend.set_tracking(true);
            if i == 0 {
                // The setup and the verification must hold, or nothing measured means anything.
                self.run(&name, set, true, 1)?;
            }
            let db = self.run(&name, set, false, 1)?;
            db_results.extend(db);
            self.backend.set_tracking(false);
            time_results.extend(self.run(&name, set, false, settings.repeat.max(1))?);
        }
        self.backend.set_tracking(true);
        if std::env::var("PEERSEAL_WEIGHTS_DUMP").is_ok_and(|dump| dump == name) {
            for r in &time_results {
                println!("{name} {:?}: {} ns", r.components, r.extrinsic_time);
            }
        }
        let time = fit(&name, &time_results, BenchmarkSelector::ExtrinsicTime)?;
        let reads = fit(&name, &db_results, BenchmarkSelector::Reads)?;
        let writes = fit(&name, &db_results, BenchmarkSelector::Writes)?;
        let proof = self.estimate_proof(&name, &db_results)?;
        let min_time_ns = time_results.iter().map(|r| r.extrinsic_time).min().unwrap_or(0);
        let storage = db_results
            .iter()
            .max_by_key(|r| r.components.iter().map(|(_, v)| u64::from(*v)).sum::<u64>())
            .map(|r| self.storage_lines(r))
            .unwrap_or_default();
        Ok(Fitted {
            components: bench
                .components
                .iter()
                .map(|(p, low, high)| (format!("{p:?}"), *low, *high))
                .collect(),
            time,
            reads,
            writes,
            proof,
            min_time_ns,
            storage,
        })
    }

    /// The proof size estimated from `MaxEncodedLen` ("MaxEncodedLen" mode of the CLI): per
    /// storage item read, each key read costs the item's largest value plus the trie nodes
    /// above it (by the item's `max_values`), plus `ADDITIONAL_TRIE_LAYERS` nodes once. Each
    /// item gets its own fit; the item fits are **summed** (a proof holds every item read; the
    /// CLI takes their maximum instead, which undercounts calls that read several items).
    fn estimate_proof(&self, name: &str, db_results: &[BenchmarkResult]) -> Result<Term, String> {
        let info: HashMap<&[u8], &StorageInfo> =
            self.storage_info.iter().map(|i| (i.prefix.as_slice(), i)).collect();
        let mut per_item: BTreeMap<Vec<u8>, Vec<BenchmarkResult>> = BTreeMap::new();
        for result in db_results {
            for (key, reads, _, whitelisted) in &result.keys {
                if *whitelisted {
                    continue;
                }
                let prefix = key[..key.len().min(32)].to_vec();
                let item = info.get(prefix.as_slice());
                let depth = log16(item.and_then(|i| i.max_values).unwrap_or(WORST_CASE_MAP_VALUES));
                let per_read = depth.saturating_mul(NODE_PROOF).saturating_add(
                    // An item without a bound (none in peerseal's pallets) counts its path only.
                    item.and_then(|i| i.max_size).unwrap_or(0),
                );
                let mut proof = per_read.saturating_mul(*reads);
                if *reads > 0 {
                    proof = proof.saturating_add(NODE_PROOF * ADDITIONAL_TRIE_LAYERS);
                }
                let mut sample = result.clone();
                sample.proof_size = proof;
                per_item.entry(prefix).or_default().push(sample);
            }
        }
        let mut total = Term::default();
        for samples in per_item.values() {
            let item = fit(name, samples, BenchmarkSelector::ProofSize)?;
            total.base = total.base.saturating_add(item.base);
            for (name, slope) in item.slopes {
                let sum = total.slopes.entry(name).or_insert(0);
                *sum = sum.saturating_add(slope);
            }
        }
        Ok(total)
    }

    /// `Pallet::Item (r:R w:W)` for each storage item `result` accessed.
    fn storage_lines(&self, result: &BenchmarkResult) -> Vec<String> {
        let mut lines = Vec::new();
        for (key, reads, writes, whitelisted) in &result.keys {
            if *whitelisted || (*reads == 0 && *writes == 0) {
                continue;
            }
            let item = self.storage_info.iter().find(|i| key.starts_with(&i.prefix));
            let name = match item {
                Some(i) => format!(
                    "{}::{}",
                    String::from_utf8_lossy(&i.pallet_name),
                    String::from_utf8_lossy(&i.storage_name)
                ),
                None => format!("unknown key 0x{}", hex(key)),
            };
            lines.push(format!("`{name}` (r:{reads} w:{writes})"));
        }
        lines.sort();
        lines
    }
}

/// FRAME's least-squares fit (interquartile range) of `selector` over `results`.
///
/// Two refinements over a single call of the analysis:
/// - a component with a single value among `results` has no slope to fit (the samples of a
///   storage item read only at some component values): it is left out;
/// - the analysis clamps a negative slope (noise on a component without effect) to zero but
///   keeps the intercept that went with it, which can put most of the cost into the base (seen:
///   887 µs of base for a hook that takes 85 µs at zero). A component whose slope comes out
///   zero is therefore left out and the fit repeated, so the base is fitted without it.
// `&Vec` because that is what `Analysis` takes.
#[allow(clippy::ptr_arg)]
fn fit(
    name: &str,
    results: &Vec<BenchmarkResult>,
    selector: BenchmarkSelector,
) -> Result<Term, String> {
    let params: Vec<BenchmarkParameter> = results
        .first()
        .map(|r| r.components.iter().map(|(param, _)| *param).collect())
        .unwrap_or_default();
    let varying = |param: &BenchmarkParameter| {
        let mut values = results
            .iter()
            .flat_map(|r| r.components.iter().filter(|(other, _)| other == param).map(|(_, v)| *v));
        let first = values.next();
        values.any(|v| Some(v) != first)
    };
    let mut left_out: Vec<BenchmarkParameter> =
        params.iter().copied().filter(|param| !varying(param)).collect();
    // Each round leaves out at least one more component, so this ends.
    loop {
        let trimmed: Vec<BenchmarkResult> = results
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.components.retain(|(param, _)| !left_out.contains(param));
                r
            })
            .collect();
        let analysis = Analysis::min_squares_iqr(&trimmed, selector)
            .map_err(|e| format!("{name}: fitting the results: {e}"))?;
        let zero: Vec<BenchmarkParameter> = params
            .iter()
            .copied()
            .filter(|param| !left_out.contains(param))
            .filter(|param| {
                let label = format!("{param:?}");
                analysis.names.iter().zip(&analysis.slopes).any(|(n, s)| *n == label && *s == 0)
            })
            .collect();
        if zero.is_empty() {
            return Ok(Term {
                base: analysis.base,
                slopes: analysis.names.into_iter().zip(analysis.slopes).collect(),
            });
        }
        left_out.extend(zero);
    }
}

/// The component value sets of a benchmark, as the CLI chooses them: each component in turn
/// at `steps` evenly spread values from lowest to highest, the others at their highest.
pub fn component_sets(
    components: &[(BenchmarkParameter, u32, u32)],
    steps: u32,
) -> Vec<Vec<(BenchmarkParameter, u32)>> {
    if components.is_empty() {
        return vec![Vec::new()];
    }
    let highest: Vec<_> = components.iter().map(|(p, _, high)| (*p, *high)).collect();
    let steps = steps.max(2);
    let mut sets: Vec<Vec<(BenchmarkParameter, u32)>> = Vec::new();
    for (i, (_, low, high)) in components.iter().enumerate() {
        for step in 0..steps {
            let span = u64::from(high.saturating_sub(*low));
            let offset = span * u64::from(step) / u64::from(steps - 1);
            // `offset` ≤ `span`, which came from a u32.
            let value = low.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
            let mut set = highest.clone();
            set[i].1 = value;
            if !sets.contains(&set) {
                sets.push(set);
            }
        }
    }
    sets
}

/// Trie depth for `n` values (radix 16), rounded up, as the CLI counts it.
fn log16(n: u32) -> u32 {
    let mut depth = 0;
    let mut reach: u64 = 1;
    while reach < u64::from(n) {
        reach *= 16;
        depth += 1;
    }
    depth.max(u32::from(n > 0))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log16_matches_the_cli_rounding() {
        assert_eq!(log16(0), 0);
        assert_eq!(log16(1), 1);
        assert_eq!(log16(16), 1);
        assert_eq!(log16(17), 2);
        assert_eq!(log16(256), 2);
        assert_eq!(log16(257), 3);
        assert_eq!(log16(1_000_000), 5);
    }

    #[test]
    fn component_sets_vary_one_component_at_a_time() {
        use BenchmarkParameter as B;
        let sets = component_sets(&[(B::p, 0, 10), (B::r, 1, 3)], 3);
        assert_eq!(
            sets,
            vec![
                vec![(B::p, 0), (B::r, 3)],
                vec![(B::p, 5), (B::r, 3)],
                vec![(B::p, 10), (B::r, 3)],
                vec![(B::p, 10), (B::r, 1)],
                vec![(B::p, 10), (B::r, 2)],
            ]
        );
    }
}
