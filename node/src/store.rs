//! Persistence of the dev chain under `--base-path`: blocks in order, each block's GRANDPA
//! justification (a tree of its own, so databases written before justifications existed still
//! open; a block without one gets it signed again on replay), plus the genesis hash so that a
//! base path of another chain is refused instead of silently reused. State is not stored:
//! on start the node re-executes every stored block from genesis (`Core_execute_block` checks
//! each one's roots), which keeps the on-disk format trivial and proves determinism.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};

use crate::types::{Block, Hash};

const MARKER: &[u8] = b"peerseal-node chain db v1";

/// Why the base path cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("base path {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("base path {0} holds files that are not a peerseal-node chain database")]
    Foreign(PathBuf),
    #[error("base path holds the chain with genesis {stored:?}, but this chain's genesis is {ours:?}; use another --base-path or remove it")]
    OtherChain { stored: Hash, ours: Hash },
    #[error("stored block #{0} is damaged: {1}")]
    Damaged(u32, String),
    #[error("chain database error: {0}")]
    Db(#[from] sled::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The chain database under a base path.
pub struct BlockStore {
    db: sled::Db,
    blocks: sled::Tree,
    justifications: sled::Tree,
}

/// A stored block and its stored justification, if any.
pub type StoredBlock = (Block, Option<Vec<u8>>);

impl BlockStore {
    /// Opens (or initialises) the chain database in `base_path/chain`, checking it belongs to
    /// the chain with `genesis`.
    pub fn open(base_path: &Path, genesis: Hash) -> Result<Self, StoreError> {
        if base_path.exists() && !base_path.is_dir() {
            return Err(StoreError::NotADirectory(base_path.to_path_buf()));
        }
        let dir = base_path.join("chain");
        let fresh = !dir.exists();
        if !fresh && !dir.join("PEERSEAL-NODE").exists() {
            return Err(StoreError::Foreign(dir));
        }
        std::fs::create_dir_all(&dir)?;
        let db = sled::open(dir.join("db"))?;
        let meta = db.open_tree("meta")?;
        match (meta.get("marker")?, meta.get("genesis")?) {
            (Some(marker), Some(stored)) if marker.as_ref() == MARKER => {
                let stored = Hash::from_slice(stored.get(..32).unwrap_or(&[0u8; 32]));
                if stored != genesis {
                    return Err(StoreError::OtherChain { stored, ours: genesis });
                }
            }
            (None, None) if fresh || db.open_tree("blocks")?.is_empty() => {
                meta.insert("marker", MARKER)?;
                meta.insert("genesis", genesis.as_bytes())?;
                std::fs::write(dir.join("PEERSEAL-NODE"), b"peerseal-node chain database\n")?;
                db.flush()?;
            }
            _ => return Err(StoreError::Foreign(dir)),
        }
        let blocks = db.open_tree("blocks")?;
        let justifications = db.open_tree("justifications")?;
        Ok(Self { db, blocks, justifications })
    }

    /// Every stored block after genesis, in order, with its justification when one is stored.
    pub fn load(&self) -> Result<Vec<StoredBlock>, StoreError> {
        let mut out = Vec::new();
        for (expected, item) in (1u32..).zip(self.blocks.iter()) {
            let (key, value) = item?;
            let number = key
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Damaged(expected, "bad key".into()))?;
            if number != expected {
                return Err(StoreError::Damaged(expected, format!("gap: found #{number}")));
            }
            let block = Block::decode(&mut value.as_ref())
                .map_err(|e| StoreError::Damaged(number, e.to_string()))?;
            let justification = self.justifications.get(key)?.map(|v| v.to_vec());
            out.push((block, justification));
        }
        Ok(out)
    }

    /// Appends a block with its justification (if it has one) and makes both durable. The
    /// justification is written first: a crash in between leaves at worst a justification
    /// without its block, which the next append overwrites.
    pub fn append(&self, block: &Block, justification: Option<&[u8]>) -> Result<(), StoreError> {
        let key = block.header.number.to_be_bytes();
        match justification {
            Some(justification) => self.justifications.insert(key, justification)?,
            // A leftover of a crashed append must not pass for this block's justification.
            None => self.justifications.remove(key)?,
        };
        self.blocks.insert(key, block.encode())?;
        self.db.flush()?;
        Ok(())
    }

    /// Stores the justification of an already stored block (one signed again on replay).
    pub fn put_justification(&self, number: u32, justification: &[u8]) -> Result<(), StoreError> {
        self.justifications.insert(number.to_be_bytes(), justification)?;
        self.db.flush()?;
        Ok(())
    }
}
