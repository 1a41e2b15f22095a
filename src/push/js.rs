//! What one JavaScript module imports, read with oxc's parser: the specifiers of its static
//! `import`/`export … from` declarations (with their `with { type }` attribute) and of its
//! `import('literal')` calls, in source order.
//!
//! A parser rather than a pattern: `import` inside comments, strings, template literals and
//! regular expressions is not an import. oxc's parser recurses once per level of nesting and has
//! no depth limit of its own, so a module is parsed only after [`super::js_nesting`] has bounded
//! its nesting, on a thread with a stack of [`PARSE_STACK_BYTES`]. Time is linear in the bytes.

use oxc_allocator::Allocator;
use oxc_ast::ast::{Statement, WithClause};
use oxc_parser::Parser;
use oxc_span::SourceType;

use super::js_nesting::{self, MAX_NESTING};

/// Stack of the thread a module graph is parsed on. oxc's parser recurses per level of nesting
/// ([`MAX_NESTING`] at most once checked); this leaves a wide margin even in a debug build.
pub const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// How a module asks for another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKind {
    /// `import … from 'x'`, `import 'x'`, `export … from 'x'`: a JavaScript module the
    /// importer cannot run without.
    Static,
    /// A static import whose `with { type: … }` names something else than JavaScript
    /// (`json`, `css`, …): fetched with another destination.
    Typed(String),
    /// `import('x')` with a string literal: fetched only if that code runs.
    Dynamic,
}

/// One specifier, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub specifier: String,
    pub kind: ImportKind,
}

/// Why a module's imports could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// Nested deeper than [`MAX_NESTING`]: not handed to the parser.
    TooDeep,
    /// Not a valid module (a browser would not run it either); the parser's first message.
    Syntax(String),
    /// No thread to parse it on (or the parser failed).
    Thread(String),
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::TooDeep => write!(f, "nested deeper than {MAX_NESTING}: not parsed"),
            Unread::Syntax(message) => write!(f, "syntax error: {message}"),
            Unread::Thread(cause) => write!(f, "parser thread: {cause}"),
        }
    }
}

/// The imports of the module `source`, static ones and literal dynamic ones in source order,
/// read on a thread of its own with [`PARSE_STACK_BYTES`] of stack.
pub fn module_imports(source: &str) -> Result<Vec<Import>, Unread> {
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("h2push-js".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || read_imports(source))
            .map_err(|e| Unread::Thread(e.to_string()))?;
        parser
            .join()
            .unwrap_or_else(|_| Err(Unread::Thread("the parser panicked".into())))
    })
}

/// [`module_imports`] on the calling thread's stack.
fn read_imports(source: &str) -> Result<Vec<Import>, Unread> {
    if !js_nesting::within(source.as_bytes(), MAX_NESTING) {
        return Err(Unread::TooDeep);
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::mjs()).parse();
    if parsed.panicked || !parsed.errors.is_empty() {
        let message = parsed
            .errors
            .first()
            .map_or_else(|| "unreadable".to_string(), |e| e.message.to_string());
        return Err(Unread::Syntax(message));
    }
    let mut imports: Vec<(u32, Import)> = Vec::new();
    for statement in &parsed.program.body {
        let (source, with) = match statement {
            Statement::ImportDeclaration(d) => (&d.source, &d.with_clause),
            Statement::ExportAllDeclaration(d) => (&d.source, &d.with_clause),
            Statement::ExportNamedDeclaration(d) => match &d.source {
                Some(source) => (source, &d.with_clause),
                None => continue,
            },
            _ => continue,
        };
        let kind = match type_attribute(with.as_deref()) {
            None => ImportKind::Static,
            Some(t) => ImportKind::Typed(t),
        };
        let specifier = source.value.to_string();
        imports.push((source.span.start, Import { specifier, kind }));
    }
    for dynamic in &parsed.module_record.dynamic_imports {
        let request = dynamic.module_request;
        let text = &source[request.start as usize..request.end as usize];
        if let Some(specifier) = literal(text) {
            let import = Import {
                specifier,
                kind: ImportKind::Dynamic,
            };
            imports.push((request.start, import));
        }
    }
    imports.sort_by_key(|(at, _)| *at);
    Ok(imports.into_iter().map(|(_, import)| import).collect())
}

/// The `type` of an import's `with { … }` (or `assert { … }`), unless it is absent.
fn type_attribute(with: Option<&WithClause>) -> Option<String> {
    with?
        .with_entries
        .iter()
        .find(|a| a.key.as_atom() == "type")
        .map(|a| a.value.value.to_string())
}

/// The value of a string literal or substitution-free template written without escapes; None
/// for any other expression (`import(name)`, `import('a' + b)`).
fn literal(text: &str) -> Option<String> {
    let text = text.trim();
    let quote = text.chars().next()?;
    if !matches!(quote, '\'' | '"' | '`') || text.len() < 2 || !text.ends_with(quote) {
        return None;
    }
    let inner = &text[1..text.len() - 1];
    let substitution = quote == '`' && inner.contains("${");
    let plain = !inner.contains(['\\', quote]) && !substitution;
    plain.then(|| inner.to_string())
}

#[cfg(test)]
mod tests;
