//! Rust source as the few tokens an import graph needs: identifiers, `::`, braces, commas,
//! semicolons and `*`, each with its line. Comments (doc comments too), string, byte-string,
//! raw-string and character literals are dropped, so that a path in a doc link or a message
//! is not taken for an import.

/// One token of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An identifier or keyword (`crate`, `use`, `mod`, `r#type` as `type`).
    Ident(String),
    /// `::`.
    PathSep,
    /// `{`.
    Open,
    /// `}`.
    Close,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// `*`.
    Star,
    /// Any other punctuation (`$`, `(`, `#`, …): it separates paths.
    Other,
}

/// The tokens of `source`, each with its 1-based line.
pub fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                // Block comments nest.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(chars[i] == '\n');
                        i += 1;
                    }
                }
            }
            '"' => i = skip_string(&chars, i + 1, &mut line),
            'r' | 'b' | 'c' if raw_string_hashes(&chars, i).is_some() => {
                let (start, hashes) = raw_string_hashes(&chars, i).expect("checked");
                i = skip_raw_string(&chars, start, hashes, &mut line);
            }
            'b' | 'c' if at(i + 1) == '"' => i = skip_string(&chars, i + 2, &mut line),
            'b' if at(i + 1) == '\'' => i = skip_char(&chars, i + 1),
            '\'' => {
                // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
                if at(i + 1) == '\\' || at(i + 2) == '\'' {
                    i = skip_char(&chars, i);
                } else {
                    i += 1;
                    while at(i).is_alphanumeric() || at(i) == '_' {
                        i += 1;
                    }
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = if c == 'r' && at(i + 1) == '#' { i + 2 } else { i };
                let mut end = start;
                while at(end).is_alphanumeric() || at(end) == '_' {
                    end += 1;
                }
                out.push((Token::Ident(chars[start..end].iter().collect()), line));
                i = end;
            }
            c if c.is_ascii_digit() => {
                while at(i).is_alphanumeric() || at(i) == '_' || at(i) == '.' && at(i + 1) != '.' {
                    i += 1;
                }
            }
            ':' if at(i + 1) == ':' => {
                out.push((Token::PathSep, line));
                i += 2;
            }
            '{' | '}' | ',' | ';' | '*' => {
                let token = match c {
                    '{' => Token::Open,
                    '}' => Token::Close,
                    ',' => Token::Comma,
                    ';' => Token::Semi,
                    _ => Token::Star,
                };
                out.push((token, line));
                i += 1;
            }
            _ => {
                out.push((Token::Other, line));
                i += 1;
            }
        }
    }
    out
}

/// Past the closing quote of a string whose contents start at `i`.
fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

/// Where a raw string starting at `i` (`r"`, `r#"`, `br##"`, `cr"`) has its contents, and its
/// number of `#`; `None` when `i` starts no raw string.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if chars[j] == 'b' || chars[j] == 'c' {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((j + hashes + 1, hashes))
}

/// Past the end of a raw string's contents starting at `i`, closed by `"` and `hashes` `#`.
fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes
        {
            return i + 1 + hashes;
        }
        *line += usize::from(chars[i] == '\n');
        i += 1;
    }
    i
}

/// Past a character literal whose opening quote is at `i`.
fn skip_char(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    if chars.get(j) == Some(&'\\') {
        j += 2;
    } else {
        j += 1;
    }
    while j < chars.len() && chars[j] != '\'' {
        j += 1;
    }
    j + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(source: &str) -> Vec<String> {
        tokens(source)
            .into_iter()
            .filter_map(|(t, _)| match t {
                Token::Ident(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn comments_strings_and_characters_hide_their_paths() {
        let source = r####"
            /// [`crate::in_doc::x`]
            // crate::in_line_comment
            /* crate::in_block /* crate::in_nested */ crate::after_nested */
            let s = "crate::in_string \" crate::after_escape";
            let r = r#"crate::in_raw "# ;
            let b = b"crate::in_bytes";
            let q = '"'; let e = '\''; fn f<'a>(x: &'a str) {}
            use crate::k;
        "####;
        let names = idents(source);
        assert!(
            !names.iter().any(|n| n.starts_with("in_") || n.starts_with("after_")),
            "{names:?}"
        );
        assert!(names.ends_with(&["use".into(), "crate".into(), "k".into()]), "{names:?}");
        let last = tokens(source).into_iter().rev().find(|(t, _)| *t == Token::Semi).unwrap();
        assert_eq!(last.1, 9, "lines are counted through comments and strings");
    }
}
