//! Unit tests of `module_imports`: every import form, and no import from what only looks like one.

use super::*;

fn imports(source: &str) -> Vec<(String, ImportKind)> {
    module_imports(source)
        .unwrap_or_else(|e| panic!("{e}: {source}"))
        .into_iter()
        .map(|i| (i.specifier, i.kind))
        .collect()
}

fn statics(names: &[&str]) -> Vec<(String, ImportKind)> {
    names
        .iter()
        .map(|n| (n.to_string(), ImportKind::Static))
        .collect()
}

#[test]
fn every_static_form_in_source_order() {
    let source = r#"
        import def from './default.js';
        import * as ns from "./namespace.js";
        import { a, b as c } from './named.js';
        import def2, { d } from './mixed.js';
        import './side-effect.js';
        export { e } from './reexport.js';
        export * from './star.js';
        export * as star from './star-as.js';
        export const local = 1;
        export { local as renamed };
        import {} from 'bare';
    "#;
    assert_eq!(
        imports(source),
        statics(&[
            "./default.js",
            "./namespace.js",
            "./named.js",
            "./mixed.js",
            "./side-effect.js",
            "./reexport.js",
            "./star.js",
            "./star-as.js",
            "bare",
        ])
    );
}

#[test]
fn dynamic_imports_of_literals_only_and_typed_imports_say_their_type() {
    let source = r#"
        const a = await import('./lazy.js');
        import(`./template.js`);
        import(name);
        import('./a' + b);
        import(`./${x}.js`);
        import data from './data.json' with { type: 'json' };
        import sheet from './style.css' with { type: "css" };
        import js from './plain.js' with { };
        console.log(import.meta.url);
    "#;
    assert_eq!(
        imports(source),
        [
            ("./lazy.js".to_string(), ImportKind::Dynamic),
            ("./template.js".to_string(), ImportKind::Dynamic),
            ("./data.json".to_string(), ImportKind::Typed("json".into())),
            ("./style.css".to_string(), ImportKind::Typed("css".into())),
            ("./plain.js".to_string(), ImportKind::Static),
        ]
    );
}

#[test]
fn comments_strings_templates_and_regexes_import_nothing() {
    let source = r#"
        // import './line-comment.js';
        /* import './block-comment.js'; */
        const s = "import './string.js'";
        const t = `import './template.js' ${"import('./in-substitution.js')"}`;
        const r = /import '.\/regex.js'/g;
        const d = a / 2 / "import('./after-division.js')".length;
        const html = `<script type=module>import './in-html.js'</script>`;
        const o = { import: 1, from: 'x' };
        o.import; const from = 2;
    "#;
    assert_eq!(imports(source), statics(&[]));
}

#[test]
fn a_module_that_does_not_parse_is_not_read() {
    assert!(matches!(
        module_imports("import './a.js'; this is not javascript"),
        Err(Unread::Syntax(_))
    ));
    assert!(module_imports("import { from './a.js';").is_err());
}

#[test]
fn nesting_past_the_bound_is_refused_before_the_parser_sees_it() {
    let deep = "(".repeat(100_000) + &")".repeat(100_000);
    assert_eq!(module_imports(&deep), Err(Unread::TooDeep));
    let fine = "import './a.js';".to_owned() + &"(".repeat(100) + "1" + &")".repeat(100);
    assert_eq!(imports(&fine), statics(&["./a.js"]));
}

/// The fastest of three reads of `source`, in seconds.
fn read_time(source: &str) -> f64 {
    (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            let _ = module_imports(source);
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

/// Five megabytes of each hostile shape are read (or refused) in under a second in a release
/// build (`cargo test --release`); in a debug build, ~20x slower, the time must grow linearly:
/// eight times the bytes may not take more than 24 times as long (quadratic would be 64).
#[test]
fn hostile_tokens_take_time_linear_in_the_bytes() {
    let shapes = [
        "(",                     // nesting: refused by the bound before parsing
        "a=",                    // right-recursive assignment chain
        "x => ",                 // arrow chain
        "/(/,",                  // regexes whose brackets never close
        "`${",                   // template substitutions
        "import './a.js';\n",    // a flat module of imports, parsed whole
        "/* import './c.js' */", // one long run of comments
        "'\\'\\'",               // an unterminated string of escapes
        "a+",                    // a long left-associative chain: no depth
    ];
    for shape in shapes {
        if cfg!(debug_assertions) {
            let size = 512 * 1024;
            let small = read_time(&shape.repeat(size / 8 / shape.len()));
            let large = read_time(&shape.repeat(size / shape.len()));
            // Below a few milliseconds, timer and scheduler noise dominate.
            assert!(
                large < 0.02 || large < 24.0 * small,
                "{shape:?}: {small:.3} s, then {large:.3} s"
            );
        } else {
            let size = 5 * 1024 * 1024;
            let took = read_time(&shape.repeat(size / shape.len()));
            eprintln!("{shape:?}: {took:.3} s for 5 MiB");
            assert!(took < 1.0, "{shape:?}: {took:.2} s");
        }
    }
}
