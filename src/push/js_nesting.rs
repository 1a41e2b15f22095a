//! A bound on how deep a JavaScript source nests, checked in one linear pass before the source
//! is handed to oxc's parser, which recurses once per level and would overflow its stack (and
//! abort the server) on a file of 100 000 `(`.
//!
//! The pass is a small tokenizer that skips comments, strings, template text and regular
//! expressions, and counts what makes a recursive-descent parser recurse: open brackets,
//! `${`, and the right-associative operators (assignments, `?`, `=>`, `**`, prefix operators
//! and keywords) not yet ended by `,` or `;` at their level. Left-associative binary operators
//! cost a parser no depth and are not counted. Where a `/` could be division or a regular
//! expression it decides as a browser's tokenizer does from the token before (keywords,
//! `)` of `if (…)`, `}` of a block or of an object literal); a regular expression's own
//! brackets count when they open and never close more than they opened, so a misread errs
//! towards "too deep", which only means the module is not followed.

/// Levels of nesting (as counted here) a module may reach and still be parsed. Real code stays
/// under a few dozen; minified bundles under a hundred.
pub const MAX_NESTING: usize = 256;

/// Keywords after which an expression (so a regular expression, or a prefix operator) starts.
const BEFORE_EXPRESSION: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
    b"extends",
];

/// Keywords that recurse into the expression after them.
const PREFIX: &[&[u8]] = &[b"typeof", b"new", b"delete", b"void", b"yield", b"await"];

/// Keywords whose `( … )` is followed by a statement, where `/` starts a regular expression.
const BEFORE_CONDITION: &[&[u8]] = &[b"if", b"while", b"for", b"with"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Paren {
        condition: bool,
    },
    Bracket,
    Brace {
        object: bool,
    },
    /// `${` inside a template literal.
    Substitution,
}

struct Level {
    open: Open,
    /// Right-associative operators since the last `,` or `;` of this level.
    ops: usize,
}

struct Counter<'s> {
    src: &'s [u8],
    i: usize,
    levels: Vec<Level>,
    /// Operators at the top level.
    root_ops: usize,
    /// Brackets open plus operators counted: the depth estimate.
    total: usize,
    /// An expression may start here: `/` begins a regular expression, `+` is prefix.
    operand: bool,
    /// The last token was `.`: a keyword after it is a property name.
    after_dot: bool,
    last_word: &'s [u8],
}

/// Whether `src` nests no deeper than `limit` (see the module doc). Linear in `src.len()`.
pub fn within(src: &[u8], limit: usize) -> bool {
    let mut counter = Counter {
        src,
        i: 0,
        levels: Vec::new(),
        root_ops: 0,
        total: 0,
        operand: true,
        after_dot: false,
        last_word: b"",
    };
    while counter.i < src.len() {
        counter.step();
        if counter.total > limit {
            return false;
        }
    }
    true
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'\\' | b'#') || b >= 0x80
}

impl<'s> Counter<'s> {
    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.i + ahead).copied().unwrap_or(0)
    }

    fn op(&mut self) {
        match self.levels.last_mut() {
            Some(level) => level.ops += 1,
            None => self.root_ops += 1,
        }
        self.total += 1;
    }

    fn push(&mut self, open: Open) {
        self.levels.push(Level { open, ops: 0 });
        self.total += 1;
        self.operand = true;
    }

    /// Ends the operators of the current level (`,` or `;`).
    fn release(&mut self) {
        let ops = match self.levels.last_mut() {
            Some(level) => std::mem::take(&mut level.ops),
            None => std::mem::take(&mut self.root_ops),
        };
        self.total -= ops;
    }

    fn pop(&mut self) -> Option<Open> {
        let level = self.levels.pop()?;
        self.total -= 1 + level.ops;
        Some(level.open)
    }

    fn skip_to(&mut self, needle: &[u8]) {
        let rest = &self.src[self.i.min(self.src.len())..];
        self.i = match rest.windows(needle.len()).position(|w| w == needle) {
            Some(at) => self.i + at + needle.len(),
            None => self.src.len(),
        };
    }

    fn step(&mut self) {
        let c = self.src[self.i];
        let after_dot = std::mem::take(&mut self.after_dot);
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                self.after_dot = after_dot;
                self.i += 1;
            }
            b'/' if self.peek(1) == b'/' => {
                self.after_dot = after_dot;
                self.skip_to(b"\n");
            }
            b'/' if self.peek(1) == b'*' => {
                self.after_dot = after_dot;
                self.i += 2;
                self.skip_to(b"*/");
            }
            b'/' if self.operand => self.regex(),
            b'\'' | b'"' => self.string(c),
            b'`' => {
                self.i += 1;
                self.template();
            }
            b'}' if self.levels.last().map(|l| l.open) == Some(Open::Substitution) => {
                self.pop();
                self.i += 1;
                self.template();
            }
            b'(' => {
                let condition = BEFORE_CONDITION.contains(&self.last_word);
                self.i += 1;
                self.push(Open::Paren { condition });
            }
            b'[' => {
                self.i += 1;
                self.push(Open::Bracket);
            }
            b'{' => {
                let object = self.operand;
                self.i += 1;
                self.push(Open::Brace { object });
            }
            b')' | b']' | b'}' => {
                self.i += 1;
                self.operand = match self.pop() {
                    Some(Open::Paren { condition }) => condition,
                    Some(Open::Brace { object }) => !object,
                    _ => false,
                };
            }
            b',' | b';' => {
                self.i += 1;
                self.release();
                self.operand = true;
            }
            b'.' if self.peek(1).is_ascii_digit() => self.word(),
            b'.' => {
                self.i += 1;
                self.operand = true;
                self.after_dot = true;
            }
            b'0'..=b'9' => self.word(),
            _ if is_word_byte(c) => self.word(),
            _ => self.punctuator(),
        }
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') && !is_word_byte(c) {
            self.last_word = b"";
        }
    }

    /// An identifier, keyword or number.
    fn word(&mut self) {
        let start = self.i;
        let number = !is_word_byte(self.src[start]) || self.src[start].is_ascii_digit();
        self.i += 1;
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' => self.i += 2,
                b'.' if number => self.i += 1,
                b if is_word_byte(b) => self.i += 1,
                _ => break,
            }
        }
        let word = &self.src[start..self.i.min(self.src.len())];
        let keyword = !self.after_dot && BEFORE_EXPRESSION.contains(&word);
        if keyword && PREFIX.contains(&word) {
            self.op();
        }
        self.operand = keyword;
        self.last_word = if self.after_dot { b"" } else { word };
        self.after_dot = false;
    }

    /// Operators: counts the right-associative ones.
    fn punctuator(&mut self) {
        let c = self.src[self.i];
        let next = self.peek(1);
        let operand = std::mem::replace(&mut self.operand, true);
        match c {
            b'=' if next == b'>' => {
                self.i += 2;
                self.op();
            }
            b'=' if next == b'=' => self.i += if self.peek(2) == b'=' { 3 } else { 2 },
            b'=' => {
                self.i += 1;
                self.op();
            }
            b'?' if next == b'.' && !self.peek(2).is_ascii_digit() => {
                self.i += 2;
                self.after_dot = true;
            }
            b'?' if next == b'?' => {
                self.i += 2;
                if self.peek(0) == b'=' {
                    self.i += 1;
                    self.op();
                }
            }
            b'?' => {
                self.i += 1;
                self.op();
            }
            b'+' | b'-' if next == c => {
                self.i += 2;
                if operand {
                    self.op();
                } else {
                    // Postfix: an operator may follow, not an operand.
                    self.operand = false;
                }
            }
            b'+' | b'-' | b'!' | b'~' if operand => {
                self.i += 1;
                self.op();
            }
            b'*' if next == b'*' => {
                self.i += if self.peek(2) == b'=' { 3 } else { 2 };
                self.op();
            }
            b'*' | b'%' | b'<' | b'>' | b'&' | b'|' | b'^' | b'+' | b'-' | b'!' | b'/' => {
                let start = self.i;
                while matches!(self.peek(0), b'<' | b'>' | b'&' | b'|') && self.i - start < 3 {
                    self.i += 1;
                }
                if self.i == start {
                    self.i += 1;
                }
                let run = &self.src[start..self.i];
                if self.peek(0) == b'=' {
                    self.i += 1;
                    // `<=`, `>=` and `!=` compare; the others assign.
                    if !matches!(run, b"<" | b">" | b"!") {
                        self.op();
                    } else if self.peek(0) == b'=' {
                        self.i += 1;
                    }
                }
            }
            _ => self.i += 1,
        }
    }

    fn string(&mut self, quote: u8) {
        self.i += 1;
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' => self.i += 2,
                b'\n' => break,
                b if b == quote => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        self.operand = false;
    }

    /// Template text up to its end or to a `${`, which opens a level.
    fn template(&mut self) {
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' => self.i += 2,
                b'`' => {
                    self.i += 1;
                    self.operand = false;
                    return;
                }
                b'$' if self.peek(1) == b'{' => {
                    self.i += 2;
                    self.push(Open::Substitution);
                    return;
                }
                _ => self.i += 1,
            }
        }
    }

    /// A regular expression literal: its brackets count as they open, never below zero.
    fn regex(&mut self) {
        self.i += 1;
        let (mut class, mut open) = (false, 0usize);
        while self.i < self.src.len() {
            match self.src[self.i] {
                b'\\' => self.i += 1,
                b'\n' => break,
                b'[' if !class => class = true,
                b']' => class = false,
                b'(' if !class => open += 1,
                b')' if !class => open = open.saturating_sub(1),
                b'/' if !class => {
                    self.i += 1;
                    break;
                }
                _ => {}
            }
            self.i += 1;
        }
        for _ in 0..open {
            self.op();
        }
        self.operand = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(src: &str) -> bool {
        within(src.as_bytes(), 50)
    }

    #[test]
    fn real_code_passes() {
        let code = r#"
            import { a } from './a.js';
            const re = /[(]+\)/g, x = a ? b : c;
            if (x) /(/.test(y); else z = {a: 1}/2;
            const t = `${`${x}`}(((`; // ((((((
            /* (((((((( */ label: for (;;) { break label; }
            x = y => z => w;
        "#;
        assert!(depth_ok(&code.repeat(1000)));
    }

    #[test]
    fn deep_nesting_of_every_recursive_kind_is_caught() {
        for (open, close) in [
            ("(", ")"),
            ("[", "]"),
            ("{", "}"),
            ("x=", ""),
            ("!", ""),
            ("- ", ""),
            ("--", ""),
            ("typeof ", ""),
            ("a?b:", ""),
            ("x=>", ""),
            ("2**", ""),
            ("`${", "}`"),
            ("/(/,(", ")"),
            ("(a)/(b)/(", ")"),
        ] {
            let src = open.repeat(110) + "1" + &close.repeat(110);
            assert!(!depth_ok(&src), "{open}");
            let shallow = open.repeat(20) + "1" + &close.repeat(20);
            assert!(depth_ok(&shallow), "{open}");
        }
    }

    #[test]
    fn closers_hidden_in_strings_comments_and_regexes_do_not_hide_depth() {
        for filler in ["')'", "/*)*/", "/)/", "`)`", "\")\""] {
            let src = format!("({filler},").repeat(60);
            assert!(!depth_ok(&src), "{filler}");
        }
    }

    #[test]
    fn commas_and_semicolons_end_operator_chains() {
        assert!(depth_ok(&"a = 1, ".repeat(1000)));
        assert!(depth_ok(&"a = !b; ".repeat(1000)));
        assert!(depth_ok(&"a && b || c + d * e - f ".repeat(1000)));
    }
}
