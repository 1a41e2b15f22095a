//! ES module graphs end to end: a page whose only `<script>` is a module gets a 103 and
//! PUSH_PROMISEs for every module of its static graph (found through its import map), and an
//! edit deep in the graph changes what the next request for the page gets.

mod common;

use std::time::{Duration, Instant};

use common::{config, site, PageLoad, TestServer};

const PAGE: &str = r#"<!doctype html><title>m</title>
<script type=importmap>{"imports": {"lib": "/vendor/lib/index.js"}}</script>
<script type=module src="/js/main.js"></script>"#;

fn module_site() -> tempfile::TempDir {
    site(&[
        ("index.html", PAGE.as_bytes()),
        (
            "js/main.js",
            b"import { util } from 'lib';\nutil();\nimport('./lazy.js');\n",
        ),
        ("js/lazy.js", b"export const lazy = 1;\n"),
        (
            "vendor/lib/index.js",
            b"export { util } from './util.js';\n",
        ),
        (
            "vendor/lib/util.js",
            b"import './deep.js';\nexport const util = () => 1;\n",
        ),
        (
            "vendor/lib/deep.js",
            b"// import './not-an-import.js'\nexport const deep = 1;\n",
        ),
        ("vendor/lib/new.js", b"export const added = 1;\n"),
    ])
}

const GRAPH: [&str; 4] = [
    "/js/main.js",
    "/vendor/lib/index.js",
    "/vendor/lib/util.js",
    "/vendor/lib/deep.js",
];

async fn load(server: &TestServer) -> PageLoad {
    server
        .client_with(server.options(true))
        .await
        .load("/")
        .await
}

#[tokio::test]
async fn a_module_page_gets_hints_and_promises_for_its_static_graph_in_graph_order() {
    let dir = module_site();
    let server = TestServer::start(config(dir.path())).await;
    let load = load(&server).await;

    let hints = PageLoad::links(load.early_hints.as_ref().expect("a 103"));
    let expected: Vec<String> = GRAPH
        .iter()
        .map(|p| format!("<{p}>; rel=modulepreload"))
        .collect();
    assert_eq!(
        hints, expected,
        "the 103 names the whole static graph, breadth first"
    );
    assert_eq!(
        load.pushed_paths(),
        GRAPH,
        "and every module is pushed, in that order"
    );
    for (path, _, pushed) in &load.pushes {
        let file = std::fs::read(dir.path().join(&path[1..])).unwrap();
        assert_eq!(pushed.body, file, "{path}");
    }
    // The dynamic import and what a comment names are neither hinted nor pushed.
    let all = format!("{hints:?} {:?}", load.pushed_paths());
    assert!(
        !all.contains("lazy") && !all.contains("not-an-import"),
        "{all}"
    );
}

/// Loads `/` until `wanted` is pushed, or fails after 5 s.
async fn until_pushed(server: &TestServer, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let load = load(server).await;
        if load.pushed_paths().contains(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "manifest still stale: {:?}",
            load.pushed_paths()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_edit_deep_in_the_graph_changes_the_next_manifest_with_or_without_the_watcher() {
    for watching in [true, false] {
        let dir = module_site();
        let server = if watching {
            TestServer::start_watching(config(dir.path())).await
        } else {
            TestServer::start(config(dir.path())).await
        };
        let before = load(&server).await;
        assert!(!before.pushed_paths().contains(&"/vendor/lib/new.js"));

        // Neither the page nor the entry module changes: the module three imports deep does.
        std::fs::write(
            dir.path().join("vendor/lib/deep.js"),
            "import './new.js';\nexport const deep = 2;\n",
        )
        .unwrap();
        until_pushed(&server, "/vendor/lib/new.js").await;
    }
}
