use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{self, BufRead};

/// Counts accumulated over one or more text streams.
///
/// * `lines`: newline characters, plus one for a final line that lacks one
///   (so `"a\nb"` has two lines, like `str::lines`).
/// * `words`: tokens that survive [`normalize_word`].
/// * `bytes`: raw input bytes, before any UTF-8 repair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub lines: u64,
    pub words: u64,
    pub bytes: u64,
    freq: HashMap<String, u64>,
}

/// Turns a whitespace-separated token into a word: ASCII punctuation is
/// trimmed from both ends and the rest is lowercased. Returns `None` when
/// nothing is left. Borrows when the token needs no lowercasing.
pub fn normalize_word(token: &str) -> Option<Cow<'_, str>> {
    let word = token.trim_matches(|c: char| c.is_ascii_punctuation());
    if word.is_empty() {
        None
    } else if word.chars().any(char::is_uppercase) {
        Some(Cow::Owned(word.to_lowercase()))
    } else {
        Some(Cow::Borrowed(word))
    }
}

fn by_count_then_word(a: &(&str, u64), b: &(&str, u64)) -> Ordering {
    b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

impl Stats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `reader` to the end and returns its statistics.
    pub fn from_reader<R: BufRead>(reader: R) -> io::Result<Self> {
        let mut stats = Self::new();
        stats.update(reader)?;
        Ok(stats)
    }

    /// Adds everything `reader` yields, line by line.
    pub fn update<R: BufRead>(&mut self, mut reader: R) -> io::Result<()> {
        let mut buf = Vec::with_capacity(8 * 1024);
        loop {
            buf.clear();
            let n = match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.add_line(&buf[..n]);
        }
    }

    /// Adds one line (normally ending in `\n`; the last one may not).
    pub fn add_line(&mut self, line: &[u8]) {
        self.bytes += line.len() as u64;
        if !line.is_empty() {
            self.lines += 1;
        }
        for token in String::from_utf8_lossy(line).split_whitespace() {
            if let Some(word) = normalize_word(token) {
                self.words += 1;
                match self.freq.get_mut(word.as_ref()) {
                    Some(count) => *count += 1,
                    None => {
                        self.freq.insert(word.into_owned(), 1);
                    }
                }
            }
        }
    }

    /// How often `word` (already normalized) was seen.
    pub fn count_of(&self, word: &str) -> u64 {
        self.freq.get(word).copied().unwrap_or(0)
    }

    /// Number of distinct words.
    pub fn distinct(&self) -> usize {
        self.freq.len()
    }

    /// The `k` most frequent words, by count descending, then word ascending.
    pub fn top(&self, k: usize) -> Vec<(&str, u64)> {
        if k == 0 {
            return Vec::new();
        }
        let mut all: Vec<(&str, u64)> = self.freq.iter().map(|(w, &c)| (w.as_str(), c)).collect();
        if k < all.len() {
            all.select_nth_unstable_by(k, by_count_then_word);
            all.truncate(k);
        }
        all.sort_unstable_by(by_count_then_word);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(input: &str) -> Stats {
        Stats::from_reader(input.as_bytes()).unwrap()
    }

    #[test]
    fn empty_input() {
        let s = stats("");
        assert_eq!((s.lines, s.words, s.bytes), (0, 0, 0));
        assert!(s.top(5).is_empty());
    }

    #[test]
    fn counts_lines_words_bytes() {
        let s = stats("one two\nthree\n\nfour five six\n");
        assert_eq!((s.lines, s.words, s.bytes), (4, 6, 29));
    }

    #[test]
    fn last_line_without_newline_counts() {
        let s = stats("a b\nc");
        assert_eq!((s.lines, s.words, s.bytes), (2, 3, 5));
    }

    #[test]
    fn crlf_line_endings() {
        let s = stats("Hello world\r\nhello\r\n");
        assert_eq!((s.lines, s.words, s.bytes), (2, 3, 20));
        assert_eq!(s.top(2), vec![("hello", 2), ("world", 1)]);
    }

    #[test]
    fn punctuation_is_trimmed_and_case_folded() {
        let s = stats("\"Hello,\" she said. HELLO!! -- (hello) don't ...");
        assert_eq!(s.count_of("hello"), 3);
        assert_eq!(s.count_of("don't"), 1);
        assert_eq!(s.count_of("said"), 1);
        assert_eq!(s.words, 6);
    }

    #[test]
    fn unicode_whitespace_and_case() {
        let s = stats("Äpfel\u{2003}äpfel\u{a0}ÄPFEL");
        assert_eq!(s.words, 3);
        assert_eq!(s.top(1), vec![("äpfel", 3)]);
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let s = Stats::from_reader(&b"ok \xff\xfe ok\n"[..]).unwrap();
        assert_eq!((s.lines, s.words, s.bytes), (1, 3, 9));
        assert_eq!(s.count_of("ok"), 2);
        assert_eq!(s.count_of("\u{fffd}\u{fffd}"), 1);
    }

    #[test]
    fn ties_break_alphabetically() {
        let s = stats("pear apple fig apple pear kiwi");
        assert_eq!(
            s.top(10),
            vec![("apple", 2), ("pear", 2), ("fig", 1), ("kiwi", 1)]
        );
        assert_eq!(s.top(3), vec![("apple", 2), ("pear", 2), ("fig", 1)]);
    }

    #[test]
    fn top_zero_is_empty() {
        assert!(stats("a a b").top(0).is_empty());
    }

    #[test]
    fn update_accumulates() {
        let mut s = stats("a b\n");
        s.update("b c\n".as_bytes()).unwrap();
        assert_eq!((s.lines, s.words, s.bytes, s.distinct()), (2, 4, 8, 3));
        assert_eq!(s.top(1), vec![("b", 2)]);
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_word("...").as_deref(), None);
        assert_eq!(normalize_word("(Rust)").as_deref(), Some("rust"));
        assert!(matches!(normalize_word("rust"), Some(Cow::Borrowed(_))));
    }
}
