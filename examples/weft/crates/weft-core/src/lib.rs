//! Text statistics: line, word and byte counts plus word frequencies.
//!
//! Input is consumed as a stream ([`Stats::update`]) one line at a time, so
//! large files are never held in memory as a whole. Invalid UTF-8 is decoded
//! lossily (each bad sequence becomes U+FFFD).

pub mod report;
mod stats;

pub use stats::{normalize_word, Stats};

/// Number of words `weft top` and `weft stats` show unless told otherwise.
pub const DEFAULT_K: usize = 10;
