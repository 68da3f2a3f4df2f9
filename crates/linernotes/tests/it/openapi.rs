//! The OpenAPI description at `/openapi.json`: a valid OpenAPI 3.1 document that describes every route
//! the router serves (and no other), with every error answer in the API's error shape.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::*;

/// The methods a route may serve besides `HEAD` (which axum answers wherever `GET` is served).
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The paths the router serves, read from the router itself: axum has no listing of its routes, but
/// its `Debug` output names every path, as `RouteId(n): "/path"`, before its fallback router's.
fn served_paths() -> BTreeSet<String> {
    let printed = format!("{:?}", linernotes::http::routes());
    let (routes, _fallbacks) = printed
        .split_once("fallback_router")
        .expect("the router's Debug output names its fallback router");
    let paths: BTreeSet<String> = routes
        .split("RouteId(")
        .skip(1)
        .filter_map(|part| {
            let (_, rest) = part.split_once("): \"")?;
            let (path, _) = rest.split_once('"')?;
            path.starts_with('/').then(|| path.to_owned())
        })
        .collect();
    assert!(
        paths.len() > 10,
        "the router's paths could not be read from its Debug output: {printed:.300}"
    );
    paths
}

/// A request path for a template, with every `{segment}` filled in.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The operations the running app serves: each method of each path the router has that is not
/// answered 405.
async fn served_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let mut served = BTreeSet::new();
    for path in served_paths() {
        for method in METHODS {
            let (status, _, body) = app
                .send(
                    method.to_uppercase().parse().expect("a method"),
                    &concrete(&path),
                    None,
                    None,
                )
                .await;
            if status != 405 {
                served.insert((method.to_owned(), path.clone()));
            } else {
                assert_eq!(
                    body["error"]["code"], "METHOD_NOT_ALLOWED",
                    "{method} {path}"
                );
            }
        }
    }
    served
}

/// The operations a description lists.
fn described_operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .into_iter()
                .filter(|method| item.get(*method).is_some())
                .map(|method| (method.to_owned(), path.clone()))
        })
        .collect()
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found.push(reference.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// Resolves a local `$ref` (`#/components/schemas/Name`).
fn resolve<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    document.pointer(pointer)
}

/// Checks a non-success answer of the MusicBrainz WS/2 API (`/ws/2/…`) that the API itself gives:
/// MusicBrainz's own error shape (`{"error": "…", "help": "…"}`, which its clients parse), or a
/// bodiless 301 for a merged MBID. False for what the transport answers before the API is asked
/// (405, 413, 414, …), which has linernotes' error shape.
fn ws2_answer(document: &Value, method: &str, path: &str, status: &str, answer: &Value) -> bool {
    if status == "301" {
        assert!(
            answer.get("content").is_none(),
            "{method} {path} 301 has a body"
        );
        return true;
    }
    let Some(content) = answer["content"].get("application/json; charset=utf-8") else {
        return false;
    };
    let schema = &content["schema"];
    let reference = schema["$ref"].as_str().unwrap_or_else(|| {
        panic!("{method} {path} {status}: the error body is not a named schema")
    });
    let shape = resolve(document, reference).expect("resolves");
    for field in ["error", "help"] {
        assert_eq!(
            shape["properties"][field]["type"], "string",
            "{method} {path} {status}: MusicBrainz's error body has a string {field}"
        );
    }
    true
}

#[tokio::test]
async fn openapi_json_is_a_valid_3_1_description_of_every_served_route() {
    let app = TestApp::spawn().await;
    let (status, headers, document) = app
        .send(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");

    // An independent parser of OpenAPI 3.1 reads it.
    let text = serde_json::to_string(&document).expect("serializable");
    let parsed = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(parsed.openapi.starts_with("3.1."), "{}", parsed.openapi);
    assert_eq!(document["info"]["title"], "linernotes");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));

    // Every local reference resolves.
    let mut refs = Vec::new();
    references(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in &refs {
        assert!(
            resolve(&document, reference).is_some(),
            "{reference} does not resolve"
        );
    }

    // What the router serves is exactly what is described.
    let served = served_operations(&app).await;
    let described = described_operations(&document);
    let undescribed: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(
        undescribed.is_empty(),
        "served but not described: {undescribed:?}"
    );
    assert!(
        unserved.is_empty(),
        "described but not served: {unserved:?}"
    );
    assert!(described.contains(&("get".to_owned(), "/openapi.json".to_owned())));

    for (method, path) in &described {
        let operation = &document["paths"][path][method];
        // Every path parameter of the template is declared.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            let declared = operation["parameters"].as_array().is_some_and(|params| {
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
            });
            assert!(
                declared,
                "{method} {path}: path parameter {name} is not declared"
            );
        }
        // Every error answer of a JSON operation is the error shape; the pages answer HTML.
        let answers = operation["responses"].as_object().expect("responses");
        assert!(
            answers.keys().any(|status| status.starts_with('2')),
            "{method} {path} has no success answer"
        );
        for (status, answer) in answers {
            if status.starts_with('2') {
                continue;
            }
            if path.starts_with("/ws/2/") && ws2_answer(&document, method, path, status, answer) {
                continue;
            }
            let content = answer["content"].as_object().unwrap_or_else(|| {
                panic!("{method} {path} {status}: an error answer without a body")
            });
            if let Some(html) = content.get("text/html") {
                assert!(path.starts_with("/account/"), "{method} {path} {status}");
                assert!(html.get("schema").is_some());
                continue;
            }
            let schema = &content["application/json"]["schema"];
            let reference = schema["$ref"].as_str().unwrap_or_else(|| {
                panic!("{method} {path} {status}: the error body is not a named schema")
            });
            let error = &resolve(&document, reference).expect("resolves")["properties"]["error"];
            let detail = match error["$ref"].as_str() {
                Some(inner) => resolve(&document, inner).expect("resolves"),
                None => error,
            };
            for field in ["code", "message"] {
                assert!(
                    detail["properties"][field].is_object(),
                    "{method} {path} {status}: the error body has no {field}"
                );
            }
        }
    }
    // The bearer scheme is declared, and routes that need a token say so.
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(document["paths"]["/v1/me"]["get"]["security"].is_array());
    assert!(document["paths"]["/v1/artists/{id}"]["get"]["security"].is_null());
}
