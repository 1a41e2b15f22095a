//! JSON: the whole [`Export`], for tools with no format here: per page its URL paths, each
//! asset of its manifest with the plan (`action`, `reason`) and the `link` value, and the
//! skipped references.

use super::Export;

/// Pretty-printed, with a final newline.
pub fn render(export: &Export) -> String {
    let mut value = serde_json::to_value(export).expect("an export always serializes");
    for (page, json) in export.pages.iter().zip(
        value["pages"]
            .as_array_mut()
            .expect("pages is an array")
            .iter_mut(),
    ) {
        json["urls"] = serde_json::json!(page.urls());
    }
    serde_json::to_string_pretty(&value).expect("a value always serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn json_holds_the_manifest_the_plan_and_the_links() {
        let json: serde_json::Value = serde_json::from_str(&render(&export())).unwrap();
        let index = &json["pages"][1];
        assert_eq!(index["page"], "/index.html");
        assert_eq!(index["urls"], serde_json::json!(["/", "/index.html"]));
        assert_eq!(index["links"][1]["path"], "/fonts/a.woff2");
        assert_eq!(index["links"][1]["dest"], "font");
        assert_eq!(index["links"][1]["crossorigin"], "anonymous");
        assert_eq!(index["links"][1]["action"], "push");
        assert_eq!(index["links"][2]["reason"], "over-extra-budget");
        assert_eq!(
            index["links"][2]["link"],
            "</img/big.png>; rel=preload; as=image; nopush"
        );
        assert_eq!(index["skipped"][0]["reason"], "other origin");
        assert_eq!(json["push_max_bytes"], 1024 * 1024);
    }
}
