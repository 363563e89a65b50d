//! Wildcard matching as IAM does it: `*` matches any run of characters (including none),
//! `?` matches exactly one character, everything else matches itself.
//!
//! Linear-time greedy matching with one backtrack point, so a hostile pattern such as
//! `*a*a*a*a*b` costs O(pattern × text) at worst, never exponential time.

/// Whether `text` matches `pattern`, comparing characters exactly.
pub fn matches(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, |a, b| a == b)
}

/// Whether `text` matches `pattern`, ignoring ASCII and Unicode simple case differences.
pub fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    matches_by(pattern, text, |a, b| {
        a == b || a.to_lowercase().eq(b.to_lowercase())
    })
}

/// Whether `pattern` contains a wildcard at all (a plain string compares faster).
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.bytes().any(|b| b == b'*' || b == b'?')
}

/// One element of a pattern whose wildcards have already been decided, so a literal `*`
/// (as a policy writes it with `${*}`) can stand next to a wildcard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// This character, exactly (or ignoring case).
    Lit(char),
    /// `*`: any run of characters.
    Any,
    /// `?`: exactly one character.
    One,
}

/// The tokens of a pattern written with `*` and `?` wildcards.
pub fn tokens(pattern: &str) -> impl Iterator<Item = Tok> + '_ {
    pattern.chars().map(|c| match c {
        '*' => Tok::Any,
        '?' => Tok::One,
        c => Tok::Lit(c),
    })
}

/// Whether `text` matches a pattern given as tokens.
pub fn matches_tokens(pattern: &[Tok], text: &str, ignore_case: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    if ignore_case {
        run(pattern, &t, |a, b| {
            a == b || a.to_lowercase().eq(b.to_lowercase())
        })
    } else {
        run(pattern, &t, |a, b| a == b)
    }
}

fn matches_by(pattern: &str, text: &str, eq: impl Fn(char, char) -> bool) -> bool {
    if !has_wildcard(pattern) {
        // The common case: no wildcard, plain comparison.
        let mut p = pattern.chars();
        let mut t = text.chars();
        loop {
            match (p.next(), t.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if eq(a, b) => continue,
                _ => return false,
            }
        }
    }
    if pattern.is_ascii() && text.is_ascii() {
        // Policies and ARNs are nearly always ASCII: match bytes, allocating nothing.
        return run_bytes(pattern.as_bytes(), text.as_bytes(), |a, b| {
            eq(char::from(a), char::from(b))
        });
    }
    let p: Vec<Tok> = tokens(pattern).collect();
    let t: Vec<char> = text.chars().collect();
    run(&p, &t, eq)
}

/// [`run`] over ASCII bytes, `*` and `?` being the wildcards.
fn run_bytes(p: &[u8], t: &[u8], eq: impl Fn(u8, u8) -> bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let here = p.get(pi).copied();
        if here == Some(b'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if match here {
            Some(b'?') => true,
            Some(c) => eq(c, t[ti]),
            None => false,
        } {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn run(p: &[Tok], t: &[char], eq: impl Fn(char, char) -> bool) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    // Where the last `*` was seen in the pattern, and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let here = p.get(pi).copied();
        if here == Some(Tok::Any) {
            star = Some((pi, ti));
            pi += 1;
        } else if match here {
            Some(Tok::One) => true,
            Some(Tok::Lit(c)) => eq(c, t[ti]),
            _ => false,
        } {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character and retry from there.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("kms:*", "kms:Encrypt"));
        assert!(matches("kms:*", "kms:"));
        assert!(matches("kms:Generate*", "kms:GenerateDataKeyPair"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("kms:?ncrypt", "kms:Encrypt"));
        assert!(!matches("kms:?ncrypt", "kms:ncrypt"));
        assert!(!matches("a?", "a"));
        assert!(matches("mrk-????", "mrk-abcd"));
    }

    #[test]
    fn without_wildcards_the_whole_text_must_match() {
        assert!(matches("kms:Encrypt", "kms:Encrypt"));
        assert!(!matches("kms:Encrypt", "kms:EncryptX"));
        assert!(!matches("kms:Encrypt", "kms:Encryp"));
        assert!(!matches("kms:Encrypt", "kms:encrypt"));
    }

    #[test]
    fn ignoring_case_folds_both_sides() {
        assert!(matches_ignore_case("KMS:encrypt", "kms:Encrypt"));
        assert!(matches_ignore_case("kms:generate*", "kms:GenerateDataKey"));
        assert!(!matches_ignore_case("kms:decrypt", "kms:Encrypt"));
    }

    #[test]
    fn a_literal_star_token_matches_only_a_star() {
        let p = [Tok::Lit('a'), Tok::Lit('*'), Tok::Any];
        assert!(matches_tokens(&p, "a*bc", false));
        assert!(!matches_tokens(&p, "abc", false));
    }

    #[test]
    fn non_ascii_text_matches_by_characters() {
        assert!(matches("caf?", "café"));
        assert!(matches("*é", "café"));
        assert!(matches_ignore_case("CAFÉ*", "café au lait"));
    }

    #[test]
    fn hostile_patterns_finish_quickly() {
        let text = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(200));
        assert!(!matches(&pattern, &text));
    }
}
