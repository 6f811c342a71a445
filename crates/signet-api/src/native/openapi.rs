//! The native API described as an OpenAPI 3.1 document generated from the code: each handler
//! carries its `#[utoipa::path]`, each wire type derives its schema, and [`NativeApi`] lists the
//! handlers. Served without credentials at `GET /v1/openapi.json`, and as a server-rendered page
//! at `GET /v1/docs` built from the same document (no script, no outside assets). A test checks
//! that every `/v1` route the router serves is in the document.

use std::sync::OnceLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::error::Problem;

/// The `Idempotency-Key` request header, as a parameter of the POST operations that honour it.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only its description is used: handlers read the header themselves.
pub(super) struct IdempotencyKey {
    /// 1 to 255 visible ASCII characters. A repeat of the same request with the same key
    /// answers the same resource; the same key with a different request answers 409.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// The native API's operations and schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signet native API",
        description = "Signet's own REST API. Authenticate with HTTP Basic: the tenant id as user \
                       name, the API key as password. Errors are RFC 9457 problem documents \
                       (`application/problem+json`); a problem about one member of the request \
                       names it in `field`. Lists are paginated with an opaque `cursor` and \
                       `limit` (default 50, at most 200).",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    paths(
        super::library::upload,
        super::library::show,
        super::library::delete,
        super::documents::download_document,
        super::documents::document_evidence,
        super::ledger::checkpoint,
        super::ledger::public_key,
        super::ledger::leaves,
        super::ledger::inclusion,
        super::ledger::consistency,
        super::pki::root,
        super::pki::crl,
        super::pki::timestamp,
        super::envelopes::create,
        super::envelopes::list,
        super::envelopes::show,
        super::envelopes::void,
        super::envelopes::remind,
        super::envelopes::events,
        super::envelopes::result,
        super::envelopes::certificate,
        openapi_json,
        docs,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "documents", description = "The tenant's document library"),
        (name = "envelopes", description = "Envelopes that collect signatures"),
        (name = "evidence", description = "What the log holds about a document"),
        (name = "ledger", description = "The transparency log (public)"),
        (name = "pki", description = "The instance's CA and time-stamp authority (public)"),
        (name = "meta", description = "This description of the API (public)"),
    )
)]
pub(super) struct NativeApi;

/// What every operation shares, added once rather than on each handler: the Basic security
/// scheme, a 401 problem on operations that need credentials, a 500 problem on all.
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("tenant id as user name, API key as password"))
                    .build(),
            ),
        );
        let problem = |description: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    operation
                        .responses
                        .responses
                        .insert("401".into(), problem("Missing or wrong credentials").into());
                }
                operation
                    .responses
                    .responses
                    .insert("500".into(), problem("Unexpected error").into());
            }
        }
    }
}

/// The document as JSON, made once.
pub(super) fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        // A document that cannot be serialised would be a bug in a derive, caught by the tests.
        NativeApi::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openApiDocument",
    tag = "meta",
    summary = "This API as an OpenAPI 3.1 document",
    responses((status = 200, description = "The document", body = Object)),
)]
/// `GET /v1/openapi.json`.
pub(super) async fn openapi_json() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        document_json(),
    )
        .into_response()
}

/// Where the docs page may load from: itself for the stylesheet, nothing else.
const DOCS_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; \
                        frame-ancestors 'none'; base-uri 'none'";

#[utoipa::path(
    get,
    path = "/v1/docs",
    operation_id = "apiDocs",
    tag = "meta",
    summary = "This API as a page to read",
    description = "Every operation with its parameters, request body and responses, and every \
                   schema, rendered from the OpenAPI document.",
    responses((status = 200, description = "HTML", body = String, content_type = "text/html")),
)]
/// `GET /v1/docs`.
pub(super) async fn docs() -> Response {
    static PAGE: OnceLock<Result<String, String>> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let document: Value = serde_json::from_str(document_json()).map_err(|e| e.to_string())?;
        DocsPage::from_document(&document)
            .render()
            .map_err(|e| e.to_string())
    });
    match page {
        Ok(html) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                html.clone(),
            )
                .into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "the API docs page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The docs page: the document walked into what a reader needs, in the document's order.
#[derive(Template)]
#[template(path = "native/docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    operations: Vec<OperationView>,
    schemas: Vec<SchemaView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    tag: String,
    credentials: bool,
    parameters: Vec<ParameterView>,
    body: Option<BodyView>,
    responses: Vec<ResponseView>,
}

struct ParameterView {
    name: String,
    location: String,
    required: bool,
    schema: String,
    description: String,
}

struct BodyView {
    description: String,
    contents: Vec<ContentView>,
}

struct ContentView {
    media_type: String,
    schema: String,
    /// The component the schema names, linked to its section.
    schema_anchor: Option<String>,
}

struct ResponseView {
    status: String,
    description: String,
    contents: Vec<ContentView>,
}

struct SchemaView {
    name: String,
    anchor: String,
    json: String,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A schema in a word or two: a component's name, or the JSON of an inline schema.
fn schema_text(schema: &Value) -> (String, Option<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
        let anchor = format!("schema-{name}");
        return (name, Some(anchor));
    }
    // OpenAPI 3.1 writes an optional value as `"type": ["string", "null"]`.
    if let Some(kinds) = schema.get("type").and_then(Value::as_array) {
        let words: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
        return (words.join(" | "), None);
    }
    match (schema.get("type"), schema.get("format")) {
        (Some(kind), None) if kind.is_string() => (text(kind), None),
        (Some(kind), Some(format)) if kind.is_string() => {
            (format!("{} ({})", text(kind), text(format)), None)
        }
        (None, None) if schema.as_object().is_some_and(|o| o.is_empty()) => (String::new(), None),
        _ => (schema.to_string(), None),
    }
}

fn contents(content: Option<&Value>) -> Vec<ContentView> {
    content
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(media_type, media)| {
                    let (schema, schema_anchor) =
                        media.get("schema").map(schema_text).unwrap_or_default();
                    ContentView {
                        media_type: media_type.clone(),
                        schema,
                        schema_anchor,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

impl DocsPage {
    fn from_document(document: &Value) -> Self {
        const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
        let mut operations = Vec::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let parameters = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| ParameterView {
                        name: text(&p["name"]),
                        location: text(&p["in"]),
                        required: p["required"].as_bool().unwrap_or(false),
                        schema: schema_text(&p["schema"]).0,
                        description: text(&p["description"]),
                    })
                    .collect();
                let body = operation.get("requestBody").map(|b| BodyView {
                    description: text(&b["description"]),
                    contents: contents(b.get("content")),
                });
                let responses = operation["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| ResponseView {
                        status: status.clone(),
                        description: text(&r["description"]),
                        contents: contents(r.get("content")),
                    })
                    .collect();
                let credentials = operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
                operations.push(OperationView {
                    anchor: format!(
                        "{method}-{}",
                        path.replace(['/', '{', '}', '.'], "-").trim_matches('-')
                    ),
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    summary: text(&operation["summary"]),
                    description: text(&operation["description"]),
                    tag: operation["tags"][0].as_str().unwrap_or_default().to_owned(),
                    credentials,
                    parameters,
                    body,
                    responses,
                });
            }
        }
        // Grouped by tag, in path order within a tag.
        operations.sort_by(|a, b| (&a.tag, &a.path).cmp(&(&b.tag, &b.path)));
        let schemas = document["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| SchemaView {
                name: name.clone(),
                anchor: format!("schema-{name}"),
                json: serde_json::to_string_pretty(schema).unwrap_or_default(),
            })
            .collect();
        Self {
            title: text(&document["info"]["title"]),
            version: text(&document["info"]["version"]),
            description: text(&document["info"]["description"]),
            operations,
            schemas,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint as _;

    /// Every route the native router serves (all of `/v1`) is in the document with its method,
    /// and the document lists nothing that is not served.
    #[test]
    fn every_native_route_is_documented_and_nothing_else() {
        let document: Value = serde_json::from_str(document_json()).expect("the document is JSON");
        assert_eq!(document["openapi"], "3.1.0");
        let mut served = std::collections::BTreeSet::new();
        for endpoint in super::super::Endpoint::ALL {
            let method = endpoint.method().as_str().to_ascii_lowercase();
            let path = endpoint.path();
            assert!(
                document["paths"][path][&method].is_object(),
                "{method} {path} is served but not in the OpenAPI document"
            );
            served.insert((method, path.to_owned()));
        }
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    assert!(
                        served.contains(&(method.clone(), path.clone())),
                        "{method} {path} is documented but not served"
                    );
                }
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let document: Value = serde_json::from_str(document_json()).expect("the document is JSON");
        let mut seen = std::collections::BTreeSet::new();
        for item in document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, i)| i)
        {
            for operation in item.as_object().into_iter().flatten().map(|(_, o)| o) {
                let id = operation["operationId"].as_str().expect("an operation id");
                assert!(seen.insert(id.to_owned()), "{id} twice");
            }
        }
    }

    #[test]
    fn the_page_lists_every_operation_and_schema() {
        let document: Value = serde_json::from_str(document_json()).expect("the document is JSON");
        let page = DocsPage::from_document(&document);
        let html = page.render().expect("renders");
        for endpoint in super::super::Endpoint::ALL {
            assert!(html.contains(endpoint.path()), "{}", endpoint.path());
        }
        assert!(html.contains("id=\"schema-Problem\""));
        assert!(!html.contains("<script"), "no script on the page");
    }
}
