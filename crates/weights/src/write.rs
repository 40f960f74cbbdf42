//! Writing a pallet's `weights.rs` from its fitted benchmarks.
//!
//! The `WeightInfo` trait is taken over verbatim from the current file (signatures and docs),
//! so the pallet's callers keep compiling; only the implementations are generated, for
//! `SubstrateWeight<T>` (priced with the runtime's `DbWeight`) and for `()` (priced with
//! `RocksDbWeight`, what the pallets' mocks use). How a trait method finds its benchmark:
//! - by name, each `u32` parameter being the component named by its first letter
//!   (`on_initialize(processed, removed)` ↔ components `p`, `r`);
//! - a method with one `bool` parameter `x` has two benchmarks, `<method>_<x>` for `true` and
//!   `<method>_idle` for `false`;
//! - [`Adjust::Subtract`] removes another benchmark's figures (the registry's calls are
//!   measured with their quote verification, which the pallet charges separately).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use frame_support::weights::constants::RocksDbWeight;

use crate::measure::{Fitted, Term};

/// A change to a measured benchmark before it is written.
pub enum Adjust<'a> {
    /// Subtract this benchmark's (no-component) figures from the named method's.
    Subtract { method: &'static str, other: &'a Fitted, why: &'static str },
    /// The benchmark's component `p` counts entries processed but not removed and `r` entries
    /// removed, while the method takes `processed` (all of them) and `removed`: per removed
    /// entry only the difference `r - p` is added on top of `p` (never below zero, which can
    /// only overcharge).
    ProcessedAndRemoved { method: &'static str },
}

/// What the file header says about how the figures were made.
pub struct Header {
    pub command: String,
    pub machine: String,
    pub date: String,
    pub steps: u32,
    pub repeat: u32,
}

/// One parameter of a trait method.
struct Param {
    name: String,
    ty: String,
}

/// One `fn name(params) -> Weight;` of the trait.
struct Method {
    name: String,
    params: Vec<Param>,
}

/// The `WeightInfo` trait of `source` (its doc comment included) and its methods.
fn extract_trait(source: &str) -> Result<(String, Vec<Method>), String> {
    let start = source.find("pub trait WeightInfo {").ok_or("no `pub trait WeightInfo {`")?;
    // Take the doc comment lines right above the trait along.
    let mut doc_start = start;
    for line in source[..start].lines().rev() {
        if line.trim_start().starts_with("///") {
            doc_start -= line.len() + 1;
        } else {
            break;
        }
    }
    let mut depth = 0usize;
    let mut end = None;
    for (i, c) in source[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    end = Some(start + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let end = end.ok_or("the trait's braces do not close")?;
    let text = source[doc_start..end].to_string();
    let mut methods = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("fn ") else { continue };
        let open = rest.find('(').ok_or_else(|| format!("cannot parse `{line}`"))?;
        let close = rest.find(')').ok_or_else(|| format!("cannot parse `{line}`"))?;
        let params = rest[open + 1..close]
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let (name, ty) = p.split_once(':').unwrap_or((p, ""));
                Param { name: name.trim().to_string(), ty: ty.trim().to_string() }
            })
            .collect();
        methods.push(Method { name: rest[..open].trim().to_string(), params });
    }
    Ok((text, methods))
}

// Every `let _ = write!(..)` here writes into a `String`, which cannot fail.

/// The Rust expression of `fitted`'s weight, with `db` the `RuntimeDbWeight` expression and
/// `used` the method's parameters by component name.
fn expression(fitted: &Fitted, db: &str, used: &BTreeMap<String, String>) -> String {
    let mut e =
        format!("Weight::from_parts({}, {})", group(fitted.time.base), group(fitted.proof.base));
    let slope = |term: &Term, component: &str| term.slopes.get(component).copied().unwrap_or(0);
    for (component, param) in used {
        let t = slope(&fitted.time, component);
        if t > 0 {
            let _ = write!(
                e,
                "\n.saturating_add(Weight::from_parts({}, 0).saturating_mul({param}.into()))",
                group(t)
            );
        }
    }
    // Reads, then writes: the base count, then each component's slope.
    for (kind, counts) in [("reads", &fitted.reads), ("writes", &fitted.writes)] {
        if counts.base > 0 {
            let _ = write!(e, "\n.saturating_add({db}.{kind}({}))", counts.base);
        }
        for (component, param) in used {
            let n = slope(counts, component);
            if n > 0 {
                let _ = write!(
                    e,
                    "\n.saturating_add({db}.{kind}(u64::from({param}).saturating_mul({n})))"
                );
            }
        }
    }
    for (component, param) in used {
        let p = slope(&fitted.proof, component);
        if p > 0 {
            let _ = write!(
                e,
                "\n.saturating_add(Weight::from_parts(0, {}).saturating_mul({param}.into()))",
                group(p)
            );
        }
    }
    e
}

/// `1234567` as `1_234_567`.
fn group(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// Doc lines for one measured benchmark.
fn docs(name: &str, fitted: &Fitted) -> String {
    let mut d = String::new();
    let components = if fitted.components.is_empty() {
        String::new()
    } else {
        let list: Vec<_> = fitted
            .components
            .iter()
            .map(|(c, low, high)| format!("`{c}` {low}..={high}"))
            .collect();
        format!(", components {}", list.join(", "))
    };
    let _ =
        writeln!(d, "    // `{name}`: fastest run {} ns{components}.", group(fitted.min_time_ns));
    for line in &fitted.storage {
        if line.starts_with('(') {
            let _ = writeln!(d, "    // {line}");
        } else {
            let _ = writeln!(d, "    // Storage: {line}");
        }
    }
    d
}

/// The body of `method` priced with `db`.
fn body(
    method: &Method,
    fitted: &BTreeMap<String, Fitted>,
    db: &str,
) -> Result<(String, String), String> {
    let bools: Vec<&Param> = method.params.iter().filter(|p| p.ty == "bool").collect();
    if let [flag] = bools.as_slice() {
        let yes = format!("{}_{}", method.name, flag.name);
        let no = format!("{}_idle", method.name);
        let on = fitted.get(&yes).ok_or_else(|| format!("no benchmark `{yes}`"))?;
        let off = fitted.get(&no).ok_or_else(|| format!("no benchmark `{no}`"))?;
        let none = BTreeMap::new();
        let docs = format!("{}{}", docs(&yes, on), docs(&no, off));
        let code = format!(
            "if {} {{\n{}\n}} else {{\n{}\n}}",
            flag.name,
            expression(on, db, &none),
            expression(off, db, &none)
        );
        return Ok((docs, code));
    }
    let f = fitted.get(&method.name).ok_or_else(|| format!("no benchmark `{}`", method.name))?;
    let mut used = BTreeMap::new();
    for param in &method.params {
        let component = param.name.chars().next().map(String::from).unwrap_or_default();
        if !f.components.iter().any(|(c, _, _)| *c == component) {
            return Err(format!(
                "`{}({})`: benchmark has no component `{component}`",
                method.name, param.name
            ));
        }
        used.insert(component, param.name.clone());
    }
    Ok((docs(&method.name, f), expression(f, db, &used)))
}

/// A parameter list with the parameters the formula does not use prefixed by `_`.
fn signature(method: &Method, code: &str) -> String {
    let params: Vec<String> = method
        .params
        .iter()
        .map(|p| {
            let used = code.contains(&format!("{}.into()", p.name))
                || code.contains(&format!("u64::from({})", p.name))
                || code.starts_with(&format!("if {} ", p.name));
            let name = if used { p.name.clone() } else { format!("_{}", p.name) };
            format!("{name}: {}", p.ty)
        })
        .collect();
    format!("fn {}({}) -> Weight", method.name, params.join(", "))
}

/// Applies `adjust` to the measured benchmarks.
fn adjusted(fitted: &BTreeMap<String, Fitted>, adjust: &[Adjust]) -> BTreeMap<String, Fitted> {
    let mut out = fitted.clone();
    for adjustment in adjust {
        match adjustment {
            Adjust::Subtract { method, other, why } => {
                if let Some(f) = out.get_mut(*method) {
                    f.time = f.time.minus(&other.time);
                    f.reads = f.reads.minus(&other.reads);
                    f.writes = f.writes.minus(&other.writes);
                    f.proof = f.proof.minus(&other.proof);
                    f.storage.push(format!("(minus one quote verification: {why})"));
                }
            }
            Adjust::ProcessedAndRemoved { method } => {
                if let Some(f) = out.get_mut(*method) {
                    for term in [&mut f.time, &mut f.reads, &mut f.writes, &mut f.proof] {
                        let per_entry = term.slopes.get("p").copied().unwrap_or(0);
                        if let Some(per_removal) = term.slopes.get_mut("r") {
                            *per_removal = per_removal.saturating_sub(per_entry);
                        }
                    }
                    f.storage.push(
                        "(`p` + `r` entries processed, `r` of them removed: per removed entry \
                         the difference of the two slopes)"
                            .into(),
                    );
                }
            }
        }
    }
    out
}

/// The new `weights.rs` of `pallet` (crate name) given its current one.
pub fn render(
    pallet: &str,
    current: &str,
    fitted: &BTreeMap<String, Fitted>,
    adjust: &[Adjust],
    extra: &str,
    header: &Header,
) -> Result<String, String> {
    let (trait_text, methods) = extract_trait(current)?;
    let fitted = adjusted(fitted, adjust);
    let mut out = String::new();
    let _ = write!(
        out,
        "//! Weights of `{pallet}`, measured by `peerseal-weights` (crates/weights).\n\
         //!\n\
         //! **Generated; do not edit by hand.** Regenerate (release build, idle machine) with:\n\
         //! `{}`\n\
         //!\n\
         //! - machine: {}\n\
         //! - date: {}\n\
         //! - steps per component: {}; timing repeats per step: {}\n\
         //! - what runs: the benchmarks of `src/benchmarking.rs`, natively against\n\
         //!   `peerseal-runtime` (`dev` feature: mock quotes) over its dev genesis state\n\
         //! - time: FRAME's least-squares fit over the interquartile range (a component whose\n\
         //!   slope comes out zero is left out and the fit repeated)\n\
         //! - reads and writes: the same fit of the distinct storage keys accessed (whitelisted\n\
         //!   ones free), priced with the runtime's `DbWeight`\n\
         //! - proof size: estimated from each storage item's `MaxEncodedLen` and `max_values`,\n\
         //!   summed over the items read\n\n\
         #![allow(unused_parens, unused_imports)]\n\n\
         use core::marker::PhantomData;\n\
         use frame_support::{{\n\
             traits::Get,\n\
             weights::{{constants::RocksDbWeight, Weight}},\n\
         }};\n\n",
        header.command, header.machine, header.date, header.steps, header.repeat
    );
    out.push_str(extra);
    out.push_str(&trait_text);
    out.push_str("\n\n/// Measured weights priced with the runtime's `DbWeight`.\n");
    out.push_str("pub struct SubstrateWeight<T>(PhantomData<T>);\n\n");
    for (target, db) in [
        ("impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T>", "T::DbWeight::get()"),
        ("/// The same measured weights priced with `RocksDbWeight`, for tests and mocks.\nimpl WeightInfo for ()", "RocksDbWeight::get()"),
    ] {
        let _ = writeln!(out, "{target} {{");
        for method in &methods {
            let (doc, code) = body(method, &fitted, db)?;
            out.push_str(&doc);
            let _ = writeln!(out, "    {} {{\n{code}\n}}", signature(method, &code));
        }
        out.push_str("}\n\n");
    }
    Ok(out.trim_end().to_string() + "\n")
}

/// A constant holding `fitted`'s weight priced with `RocksDbWeight` (no components).
pub fn constant(doc: &str, name: &str, fitted: &Fitted) -> String {
    let db = RocksDbWeight::get();
    let reads = u64::try_from(fitted.reads.base).unwrap_or(u64::MAX);
    let writes = u64::try_from(fitted.writes.base).unwrap_or(u64::MAX);
    let ref_time = u64::try_from(fitted.time.base)
        .unwrap_or(u64::MAX)
        .saturating_add(db.reads_writes(reads, writes).ref_time());
    let proof = u64::try_from(fitted.proof.base).unwrap_or(u64::MAX);
    format!(
        "{doc}\npub const {name}: Weight = Weight::from_parts({}, {});\n\n",
        group(ref_time.into()),
        group(proof.into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1_000");
        assert_eq!(group(12_345_678), "12_345_678");
    }

    #[test]
    fn takes_the_trait_with_its_docs() {
        let source = "use x;\n\n/// Weights.\n/// More.\npub trait WeightInfo {\n    /// a\n    fn a() -> Weight;\n    fn b(p: u32, due: bool) -> Weight;\n}\n\nfn rest() {}\n";
        let (text, methods) = extract_trait(source).unwrap();
        assert!(text.starts_with("/// Weights.\n/// More.\npub trait WeightInfo {"));
        assert!(text.ends_with('}'));
        assert_eq!(methods.len(), 2);
        assert_eq!(methods[1].name, "b");
        assert_eq!(methods[1].params[1].ty, "bool");
    }
}
