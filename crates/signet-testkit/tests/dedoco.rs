//! The Dedoco dialect through the real router, on both backends: the vendor's sample requests
//! sent literally and the answers compared field by field with the samples' shapes; the token
//! in both Basic forms; forged, expired and `alg: none` tokens; another tenant's folders and
//! documents; the error shape of every refusal.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use signet_testkit::{TestApp, TestTenant};

signet_testkit::on_both!(
    a_token_comes_from_both_basic_forms,
    forged_expired_and_unsigned_tokens_are_refused,
    the_sample_folder_is_created_and_read_back,
    the_sample_document_is_added_voided_and_verified,
    another_tenants_token_finds_nothing,
    business_processes_are_checked_before_anything_is_stored,
    bad_bodies_answer_the_vendor_error_shape,
);

const TOKEN_SAMPLE: &str = include_str!("../../signet-api/samples/dedoco/token_request.json");
const FOLDER_SAMPLE: &str = include_str!("../../signet-api/samples/dedoco/create_folder.json");
const FOLDER_ANSWER: &str =
    include_str!("../../signet-api/samples/dedoco/create_folder_response.json");
const DOCUMENT_SAMPLE: &str = include_str!("../../signet-api/samples/dedoco/add_document.json");
const DOCUMENT_ANSWER: &str =
    include_str!("../../signet-api/samples/dedoco/add_document_response.json");

fn sample(text: &str) -> Value {
    serde_json::from_str(text).expect("the vendor's sample is JSON")
}

/// Asserts that `got` has the shape of `want`: the same keys in every object, the same JSON type
/// for every value, and (where both arrays have elements) the shape of their first elements.
fn same_shape(path: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let mut gk: Vec<&String> = g.keys().collect();
            let mut wk: Vec<&String> = w.keys().collect();
            gk.sort();
            wk.sort();
            assert_eq!(gk, wk, "keys of {path}");
            for (k, v) in w {
                same_shape(&format!("{path}.{k}"), &g[k], v);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            if let (Some(g), Some(w)) = (g.first(), w.first()) {
                same_shape(&format!("{path}[0]"), g, w);
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => {}
        _ => panic!("{path}: {got} is not shaped like {want}"),
    }
}

fn is_vendor_date(text: &str) -> bool {
    text.len() == 24 && text.ends_with('Z') && &text[19..20] == "."
}

async fn token_with(
    app: &TestApp,
    authorization: &str,
    body: &Value,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .post(app.url("/api/v1/public/auth/token"))
        .header("Authorization", authorization)
        .json(body)
        .send()
        .await?)
}

/// A token for `tenant`, asked the way real clients ask.
async fn token(app: &TestApp, tenant: &TestTenant) -> anyhow::Result<String> {
    let basic = STANDARD.encode(format!("{}:{}", tenant.id, tenant.api_key));
    let response = token_with(app, &format!("Basic {basic}"), &sample(TOKEN_SAMPLE)).await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await?;
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}

/// The actions in the history of the first document of the folder `created` names (the answer
/// of a folder create), as `GET /api/v1/public/folders/{id}` lists them.
async fn first_document_actions(
    app: &TestApp,
    token: &str,
    created: &Value,
) -> anyhow::Result<Vec<String>> {
    let path = format!(
        "/api/v1/public/folders/{}",
        created["folder"]["id"].as_str().unwrap_or_default()
    );
    let folder: Value = call(app, Method::GET, &path, token)
        .send()
        .await?
        .json()
        .await?;
    Ok(folder["documents"][0]["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter_map(|e| e["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

fn call(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.http
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {token}"))
}

async fn error_of(response: reqwest::Response, status: StatusCode) -> anyhow::Result<Value> {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await?;
    assert_eq!(body["statusCode"], status.as_u16(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(
        body["error"],
        status.canonical_reason().unwrap_or_default(),
        "{body}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
    Ok(body)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap_or_default())
        .unwrap_or(Value::Null)
}

async fn a_token_comes_from_both_basic_forms(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let standard = token(&app, &tenant).await?;
    let claims = claims_of(&standard);
    let now = tenant.now();
    assert_eq!(
        claims,
        json!({
            "subId": tenant.id, "subTyp": "public", "usrName": "Jim Lee",
            "usrEmail": "jimmylee@gmail.com", "iat": now, "exp": now + 12 * 3600, "v": 1
        })
    );
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD.decode(standard.split('.').next().unwrap_or_default())?,
    )?;
    assert_eq!(header["alg"], "HS256");

    // The page's form, without the optional user.
    let page = token_with(
        &app,
        &format!("Basic {} {}", tenant.id, tenant.api_key),
        &json!({"fileCallback": "https://sample-url.com/f", "statusCallback": "https://sample-url.com/s"}),
    )
    .await?;
    assert_eq!(page.status(), StatusCode::CREATED);
    let page: Value = page.json().await?;
    let claims = claims_of(page["token"].as_str().unwrap_or_default());
    let mut keys: Vec<&String> = claims
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["exp", "iat", "subId", "subTyp", "v"]);

    // Wrong key, unknown tenant, no credentials: 401 in the vendor's shape.
    for authorization in [
        format!("Basic {} {}", tenant.id, "0".repeat(64)),
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", "A".repeat(30), tenant.api_key))
        ),
        "Bearer nothing".to_owned(),
    ] {
        let refused = token_with(&app, &authorization, &sample(TOKEN_SAMPLE)).await?;
        error_of(refused, StatusCode::UNAUTHORIZED).await?;
    }
    // Missing callbacks: 400.
    let missing = token_with(
        &app,
        &format!("Basic {} {}", tenant.id, tenant.api_key),
        &json!({"fileCallback": "https://sample-url.com/f"}),
    )
    .await?;
    let body = error_of(missing, StatusCode::BAD_REQUEST).await?;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("statusCallback")
    );
    // A callback at a private address is refused by the outbound guard... unless allowed (the
    // test app allows private targets; the metadata address never is).
    let metadata = token_with(
        &app,
        &format!("Basic {} {}", tenant.id, tenant.api_key),
        &json!({"fileCallback": "http://169.254.169.254/latest", "statusCallback": "https://sample-url.com/s"}),
    )
    .await?;
    error_of(metadata, StatusCode::BAD_REQUEST).await?;

    // The token works.
    let folders = call(
        &app,
        Method::GET,
        "/api/v1/public/folders/605d89b600f7ab4d00541d2d",
        &standard,
    )
    .send()
    .await?;
    error_of(folders, StatusCode::NOT_FOUND).await?;
    Ok(())
}

fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap_or_default()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

async fn forged_expired_and_unsigned_tokens_are_refused(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let good = token(&app, &tenant).await?;
    let path = "/api/v1/public/folders/605d89b600f7ab4d00541d2d";
    let ok = call(&app, Method::GET, path, &good).send().await?;
    assert_eq!(
        ok.status(),
        StatusCode::NOT_FOUND,
        "the good token passes auth"
    );

    let claims = claims_of(&good);
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let mut bad_tokens = vec![
        // alg none, no signature.
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({"alg": "none", "typ": "JWT"}))?),
            good.split('.').nth(1).unwrap_or_default()
        ),
        // Signed with the tenant's own API key instead of the instance key.
        signet_testkit::jwt::hs256(&hs256, &claims, tenant.api_key.as_bytes()),
        // Claims changed after signing.
        {
            let mut more = claims.clone();
            more["exp"] = json!(claims["exp"].as_i64().unwrap_or_default() + 3600);
            let parts: Vec<&str> = good.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&more)?),
                parts[2]
            )
        },
        // Another algorithm named.
        forge(&json!({"alg": "HS512", "typ": "JWT"}), &claims, &[0u8; 64]),
        "not.a.token".to_owned(),
    ];
    bad_tokens.push(good.replace('.', ""));
    for bad in &bad_tokens {
        let refused = call(&app, Method::GET, path, bad).send().await?;
        error_of(refused, StatusCode::UNAUTHORIZED).await?;
    }
    // Expired: twelve hours and a second later.
    app.clock.advance(time::Duration::seconds(12 * 3600 + 1));
    let expired = call(&app, Method::GET, path, &good).send().await?;
    error_of(expired, StatusCode::UNAUTHORIZED).await?;
    Ok(())
}

/// The folder sample without its business processes (those need the signing core).
fn sample_folder_without_processes() -> Value {
    let mut body = sample(FOLDER_SAMPLE);
    body["business_processes"] = json!([]);
    body
}

async fn the_sample_folder_is_created_and_read_back(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let token = token(&app, &tenant).await?;
    let response = call(&app, Method::POST, "/api/v1/public/folders", &token)
        .json(&sample_folder_without_processes())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await?;
    let want = sample(FOLDER_ANSWER);
    same_shape("folder", &created["folder"], &want["folder"]);
    same_shape("documents", &created["documents"], &want["documents"]);
    assert_eq!(created["businessProcesses"], json!([]));
    assert_eq!(created["links"], json!([]));

    let folder = &created["folder"];
    assert_eq!(folder["name"], "Test Folder");
    assert_eq!(folder["date_created"], "2021-03-22T03:30:52.000Z");
    assert_eq!(folder["status"], "active");
    let id = folder["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(id.len(), 24);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let actions: Vec<&str> = folder["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    let children = folder["child_documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(children.len(), 2);
    assert_eq!(
        actions,
        [
            "create Folder".to_owned(),
            format!(
                "add Document with id: {}",
                children[0].as_str().unwrap_or_default()
            ),
            format!(
                "add Document with id: {}",
                children[1].as_str().unwrap_or_default()
            ),
        ]
    );
    let entry = &folder["history"][0];
    assert_eq!(entry["actor"]["id"], tenant.id);
    assert_eq!(entry["actor"]["name"], "Jim Lee");
    assert_eq!(entry["actor"]["email"], "jimmylee@gmail.com");
    assert!(is_vendor_date(
        entry["timestamp"].as_str().unwrap_or_default()
    ));
    // Every history entry's transaction hash is a leaf of the transparency log.
    for entry in folder["history"].as_array().into_iter().flatten() {
        let hash = entry["transaction_hash"].as_str().unwrap_or_default();
        let leaf: [u8; 32] = hex::decode(hash.trim_start_matches("0x"))?
            .try_into()
            .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
        assert!(
            app.store.leaf_index(&leaf).await?.is_some(),
            "{hash} is in the log"
        );
    }
    let documents = created["documents"].as_array().cloned().unwrap_or_default();
    assert_eq!(documents[0]["name"], "sample_pdf");
    assert_eq!(
        documents[1]["document_hashes"],
        json!(["ce997dea6abb909f745de1aa18d26c7f99003233894876d6635a5d166c02862e"])
    );
    assert_eq!(documents[0]["parent_folder"], id.as_str());
    assert_eq!(documents[0]["history"][0]["action"], "create Document");

    // Read back, and a second folder linked to it.
    let read = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/folders/{id}"),
        &token,
    )
    .send()
    .await?;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await?;
    assert_eq!(read["folder"], created["folder"]);
    assert_eq!(read["documents"], created["documents"]);

    let mut linked = sample_folder_without_processes();
    linked["folder_name"] = json!("Linked");
    linked["linked_folders"] = json!([id]);
    let response = call(&app, Method::POST, "/api/v1/public/folders", &token)
        .json(&linked)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let second: Value = response.json().await?;
    assert_eq!(second["folder"]["linked_folders"], json!([id]));

    linked["linked_folders"] = json!(["605d89b600f7ab4d00541d2d"]);
    let unknown = call(&app, Method::POST, "/api/v1/public/folders", &token)
        .json(&linked)
        .send()
        .await?;
    error_of(unknown, StatusCode::BAD_REQUEST).await?;
    Ok(())
}

async fn create_folder(app: &TestApp, token: &str) -> anyhow::Result<Value> {
    let response = call(app, Method::POST, "/api/v1/public/folders", token)
        .json(&sample_folder_without_processes())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    Ok(response.json().await?)
}

async fn the_sample_document_is_added_voided_and_verified(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let token = token(&app, &tenant).await?;
    let folder = create_folder(&app, &token).await?;
    let folder_id = folder["folder"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut body = sample(DOCUMENT_SAMPLE);
    body["parent_folder"] = json!(folder_id);
    body.as_object_mut().map(|o| o.remove("business_process"));
    let response = call(&app, Method::POST, "/api/v1/public/documents", &token)
        .json(&body)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let added: Value = response.json().await?;
    let want = sample(DOCUMENT_ANSWER);
    same_shape("document", &added["document"], &want["document"]);
    assert_eq!(added["links"], json!([]));
    let document = &added["document"];
    assert_eq!(document["name"], "sample_pdf");
    assert_eq!(document["date_created"], "2021-03-22T04:34:41.000Z");
    assert_eq!(document["parent_folder"], folder_id.as_str());
    let id = document["id"].as_str().unwrap_or_default().to_owned();
    let hash = "45c6fca6181822fe43912280bedd1f5766174ed69abd3b74cd3c3c0fbb8fe2e8";

    // The folder now lists it, after the first two.
    let read: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/folders/{folder_id}"),
        &token,
    )
    .send()
    .await?
    .json()
    .await?;
    assert_eq!(read["folder"]["child_documents"][2], id.as_str());
    assert_eq!(
        read["folder"]["history"][3]["action"],
        format!("add Document with id: {id}")
    );

    // Verified by its hash, with or without 0x and in upper case.
    for path in [hash.to_owned(), format!("0x{}", hash.to_uppercase())] {
        let verified = call(
            &app,
            Method::GET,
            &format!("/api/v1/public/verifier/doc-hashes/{path}/result"),
            &token,
        )
        .send()
        .await?;
        assert_eq!(verified.status(), StatusCode::OK);
        let verified: Value = verified.json().await?;
        assert_eq!(verified.as_array().map(Vec::len), Some(1));
        assert_eq!(verified[0]["document"]["id"], id.as_str());
        assert_eq!(
            verified[0]["document"]["parent_folder"]["id"],
            folder_id.as_str()
        );
        assert_eq!(
            verified[0]["document"]["parent_folder"]["name"],
            "Test Folder"
        );
        assert_eq!(verified[0]["document"]["owner"], tenant.id);
    }
    let unknown = call(
        &app,
        Method::GET,
        &format!(
            "/api/v1/public/verifier/doc-hashes/{}/result",
            "0".repeat(64)
        ),
        &token,
    )
    .send()
    .await?;
    error_of(unknown, StatusCode::NOT_FOUND).await?;
    let malformed = call(
        &app,
        Method::GET,
        "/api/v1/public/verifier/doc-hashes/xyz/result",
        &token,
    )
    .send()
    .await?;
    error_of(malformed, StatusCode::BAD_REQUEST).await?;

    // Void: the sample's `status`, then the table's `value`; other values are refused.
    let status_path = format!("/api/v1/public/documents/{id}/status");
    let refused = call(&app, Method::PUT, &status_path, &token)
        .json(&json!({"status": "active", "request_date": 1616388028}))
        .send()
        .await?;
    error_of(refused, StatusCode::BAD_REQUEST).await?;
    let voided = call(&app, Method::PUT, &status_path, &token)
        .json(&json!({"status": "voided", "request_date": 1616388028}))
        .send()
        .await?;
    assert_eq!(voided.status(), StatusCode::OK);
    assert_eq!(voided.json::<Value>().await?, json!({}));
    let again = call(&app, Method::PUT, &status_path, &token)
        .json(&json!({"value": "voided", "request_date": 1616388029}))
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::OK);
    let verified: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/verifier/doc-hashes/{hash}/result"),
        &token,
    )
    .send()
    .await?
    .json()
    .await?;
    assert_eq!(verified[0]["document"]["status"], "voided");
    let actions: Vec<&str> = verified[0]["document"]["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["create Document", "void Document"], "voided once");
    Ok(())
}

async fn another_tenants_token_finds_nothing(app: TestApp) -> anyhow::Result<()> {
    let owner = app.tenant().await?;
    let other = app.tenant().await?;
    let owner_token = token(&app, &owner).await?;
    let other_token = token(&app, &other).await?;
    let folder = create_folder(&app, &owner_token).await?;
    let folder_id = folder["folder"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let document_id = folder["documents"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hash = folder["documents"][0]["document_hashes"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let events = app.event_count().await?;

    let read = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/folders/{folder_id}"),
        &other_token,
    )
    .send()
    .await?;
    error_of(read, StatusCode::NOT_FOUND).await?;
    let mut body = sample(DOCUMENT_SAMPLE);
    body["parent_folder"] = json!(folder_id);
    body.as_object_mut().map(|o| o.remove("business_process"));
    let add = call(&app, Method::POST, "/api/v1/public/documents", &other_token)
        .json(&body)
        .send()
        .await?;
    error_of(add, StatusCode::NOT_FOUND).await?;
    let void = call(
        &app,
        Method::PUT,
        &format!("/api/v1/public/documents/{document_id}/status"),
        &other_token,
    )
    .json(&json!({"status": "voided", "request_date": 1616388028}))
    .send()
    .await?;
    error_of(void, StatusCode::NOT_FOUND).await?;
    let verify = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/verifier/doc-hashes/{hash}/result"),
        &other_token,
    )
    .send()
    .await?;
    error_of(verify, StatusCode::NOT_FOUND).await?;
    let links = call(
        &app,
        Method::GET,
        &format!("/api/v1/public/business-processes/{folder_id}/links"),
        &other_token,
    )
    .send()
    .await?;
    error_of(links, StatusCode::NOT_FOUND).await?;
    // Linking another tenant's folder is refused too.
    let mut linked = sample_folder_without_processes();
    linked["linked_folders"] = json!([folder_id]);
    let link = call(&app, Method::POST, "/api/v1/public/folders", &other_token)
        .json(&linked)
        .send()
        .await?;
    error_of(link, StatusCode::BAD_REQUEST).await?;
    assert_eq!(app.event_count().await?, events, "nothing was written");
    Ok(())
}

async fn business_processes_are_checked_before_anything_is_stored(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let token = token(&app, &tenant).await?;
    let events = app.event_count().await?;
    let post = |body: Value| {
        call(&app, Method::POST, "/api/v1/public/folders", &token)
            .json(&body)
            .send()
    };
    // Mixed electronic and digital signatures.
    let mut mixed = sample(FOLDER_SAMPLE);
    mixed["business_processes"][0]["signers"][1]["esignatures"] = json!([]);
    mixed["business_processes"][0]["signers"][1]["digi_signatures"] =
        mixed["business_processes"][1]["signers"][0]["digi_signatures"].clone();
    let body = error_of(post(mixed).await?, StatusCode::BAD_REQUEST).await?;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("business_processes[0]")
    );
    // Digital signatures without a sequence.
    let mut unordered = sample(FOLDER_SAMPLE);
    unordered["business_processes"][1]["is_sequential"] = json!(false);
    error_of(post(unordered).await?, StatusCode::BAD_REQUEST).await?;
    // A box outside the page.
    let mut outside = sample(FOLDER_SAMPLE);
    outside["business_processes"][0]["signers"][0]["esignatures"][0]["placement"]["x"] =
        json!("0.999");
    outside["business_processes"][0]["signers"][0]["esignatures"][0]["dimensions"]["width"] =
        json!("0.5");
    error_of(post(outside).await?, StatusCode::BAD_REQUEST).await?;
    // A number where the vendor writes a string.
    let mut numeric = sample(FOLDER_SAMPLE);
    numeric["business_processes"][0]["signers"][0]["esignatures"][0]["placement"]["x"] = json!(0.5);
    error_of(post(numeric).await?, StatusCode::BAD_REQUEST).await?;
    // An expiry in the past.
    let mut past = sample(FOLDER_SAMPLE);
    past["business_processes"][0]["expiration_time"] = json!(1616383852);
    error_of(post(past).await?, StatusCode::BAD_REQUEST).await?;
    // A document index out of range.
    let mut index = sample(FOLDER_SAMPLE);
    index["business_processes"][0]["document_id"] = json!(2);
    error_of(post(index).await?, StatusCode::BAD_REQUEST).await?;
    assert_eq!(app.event_count().await?, events, "nothing was written");
    // The valid sample itself makes its processes, shaped like the vendor's answer.
    let whole = post(sample(FOLDER_SAMPLE)).await?;
    assert_eq!(whole.status(), StatusCode::CREATED);
    let created: Value = whole.json().await?;
    let want = sample(FOLDER_ANSWER);
    same_shape(
        "businessProcesses",
        &created["businessProcesses"],
        &want["businessProcesses"],
    );
    same_shape("links", &created["links"], &want["links"]);
    assert_eq!(created["links"].as_array().map(Vec::len), Some(4));
    Ok(())
}

async fn bad_bodies_answer_the_vendor_error_shape(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let token = token(&app, &tenant).await?;
    let post = |body: Vec<u8>| {
        call(&app, Method::POST, "/api/v1/public/folders", &token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    error_of(post(b"{not json".to_vec()).await?, StatusCode::BAD_REQUEST).await?;
    error_of(post(b"[]".to_vec()).await?, StatusCode::BAD_REQUEST).await?;
    let mut wrong_type = sample_folder_without_processes();
    wrong_type["date_created"] = json!("yesterday");
    error_of(
        post(serde_json::to_vec(&wrong_type)?).await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let mut no_documents = sample_folder_without_processes();
    no_documents["documents"] = json!([]);
    error_of(
        post(serde_json::to_vec(&no_documents)?).await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let mut bad_hash = sample_folder_without_processes();
    bad_hash["documents"][0]["document_hash"] = json!("abc");
    error_of(
        post(serde_json::to_vec(&bad_hash)?).await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let mut json_type = sample_folder_without_processes();
    json_type["documents"][0]["file_type"] = json!("json");
    error_of(
        post(serde_json::to_vec(&json_type)?).await?,
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let huge = vec![b' '; 2 * 1024 * 1024];
    error_of(post(huge).await?, StatusCode::PAYLOAD_TOO_LARGE).await?;
    let unknown = call(
        &app,
        Method::GET,
        "/api/v1/public/folders/NOT-AN-ID",
        &token,
    )
    .send()
    .await?;
    error_of(unknown, StatusCode::NOT_FOUND).await?;
    let anonymous = app
        .http
        .post(app.url("/api/v1/public/folders"))
        .json(&sample_folder_without_processes())
        .send()
        .await?;
    error_of(anonymous, StatusCode::UNAUTHORIZED).await?;
    Ok(())
}

mod retrieval {
    //! A registered document's bytes, fetched from the client's file-retrieval URL through the
    //! outbound guard: the right file is kept, a wrong one and forbidden targets are refused.

    use std::time::Duration;

    use axum::Router;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;
    use sha3::Digest as _;
    use signet_core::ids::{RegisteredDocumentId, TenantId};
    use signet_core::signing::folders::FileRetriever;
    use signet_notify::retrieve::ClientFileRetriever;
    use signet_notify::target::TargetPolicy;
    use signet_testkit::{Backend, TestApp};

    async fn serve(original: Vec<u8>, other: Vec<u8>) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let good = STANDARD.encode(&original);
        let bad = STANDARD.encode(&other);
        let app = Router::new()
            .route(
                "/file",
                get(move || {
                    let good = good.clone();
                    async move { axum::Json(json!({ "file": good })).into_response() }
                }),
            )
            .route(
                "/wrong",
                get(move || {
                    let bad = bad.clone();
                    async move { axum::Json(json!({ "file": bad })).into_response() }
                }),
            )
            .route(
                "/to-metadata",
                get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data") }),
            )
            .route("/to-file", get(|| async { Redirect::temporary("/file") }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    async fn scenario(backend: Backend) -> anyhow::Result<()> {
        let Some(app) = TestApp::spawn(backend).await? else {
            return Ok(());
        };
        let tenant = app.tenant().await?;
        let token = super::token(&app, &tenant).await?;
        let original = signet_pdf::sample::blank_with_trailer(1, "");
        let other = signet_pdf::sample::blank_with_trailer(2, "");
        let mut body = super::sample_folder_without_processes();
        body["documents"][0]["document_hash"] =
            json!(hex::encode(sha3::Sha3_256::digest(&original)));
        let created: serde_json::Value = super::call(
            &app,
            reqwest::Method::POST,
            "/api/v1/public/folders",
            &token,
        )
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
        let id: RegisteredDocumentId = created["documents"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .parse()?;
        let tenant_id: TenantId = tenant.id.parse()?;
        let base = serve(original.clone(), other).await?;
        let local = ClientFileRetriever::new(
            TargetPolicy {
                allow_private_targets: true,
            },
            Duration::from_secs(10),
        );
        let strict = ClientFileRetriever::new(TargetPolicy::default(), Duration::from_secs(10));

        // Without the operator's allowance, a loopback server is refused.
        let refused = app
            .core
            .retrieve_registered_document(&strict, &tenant_id, &id, &format!("{base}/file"))
            .await;
        assert!(refused.is_err(), "loopback refused by default");
        for url in [
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "http://10.0.0.1/file".to_owned(),
        ] {
            assert!(strict.retrieve(&url, 1 << 20).await.is_err(), "{url}");
        }
        // A redirect to the metadata address is refused even when private targets are allowed.
        let redirected = app
            .core
            .retrieve_registered_document(&local, &tenant_id, &id, &format!("{base}/to-metadata"))
            .await;
        assert!(redirected.is_err());
        // The wrong file is refused, and nothing is kept.
        let wrong = app
            .core
            .retrieve_registered_document(&local, &tenant_id, &id, &format!("{base}/wrong"))
            .await;
        let message = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("neither the registered hash"), "{message}");
        // The right one, through a same-origin redirect, is kept in the library once.
        let got = app
            .core
            .retrieve_registered_document(&local, &tenant_id, &id, &format!("{base}/to-file"))
            .await?;
        assert_eq!(got.bytes, original);
        let library = got.library.ok_or_else(|| anyhow::anyhow!("kept"))?;
        let again = app
            .core
            .retrieve_registered_document(&local, &tenant_id, &id, &format!("{base}/file"))
            .await?;
        assert_eq!(again.library, Some(library));
        let actions = super::first_document_actions(&app, &token, &created).await?;
        assert_eq!(actions, ["create Document", "retrieve Document"]);
        Ok(())
    }

    #[tokio::test]
    async fn sqlite() -> anyhow::Result<()> {
        scenario(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn postgres_s3() -> anyhow::Result<()> {
        scenario(Backend::Postgres).await
    }
}

mod loopback {
    //! With production's outbound guard kept (`TestOptions::refuse_private_targets`), a signing
    //! link completed with a file-retrieval URL at 127.0.0.1 is refused at the HTTP level, even
    //! though a server there answers the right file, and nothing is stored.

    use axum::Router;
    use axum::routing::get;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};
    use sha3::Digest as _;
    use signet_testkit::{Backend, TestApp, TestOptions};

    async fn scenario(backend: Backend) -> anyhow::Result<()> {
        let options = TestOptions {
            refuse_private_targets: true,
            ..TestOptions::default()
        };
        let Some(app) = TestApp::spawn_with(backend, options).await? else {
            return Ok(());
        };
        let tenant = app.tenant().await?;
        // `.invalid` never resolves: accepted now (it may resolve later), never delivered to.
        let basic = STANDARD.encode(format!("{}:{}", tenant.id, tenant.api_key));
        let answer: Value = super::token_with(
            &app,
            &format!("Basic {basic}"),
            &json!({
                "fileCallback": "https://client.invalid/file",
                "statusCallback": "https://client.invalid/status"
            }),
        )
        .await?
        .json()
        .await?;
        let token = answer["token"].as_str().unwrap_or_default().to_owned();
        let original = signet_pdf::sample::blank_with_trailer(1, "");
        let served = STANDARD.encode(&original);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/file", listener.local_addr()?);
        let files = Router::new().route(
            "/file",
            get(move || {
                let served = served.clone();
                async move { axum::Json(json!({ "file": served })) }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, files).await;
        });
        let signer = json!({
            "signer_email": "ana@example.com", "signer_name": "Ana",
            "sequence_number": 0, "require_authentication": false,
            "verify_method": "NO_AUTHENTICATION",
            "esignatures": [{
                "placement": { "page": 1, "x": "0.1", "y": "0.7" },
                "dimensions": { "width": "0.2", "height": "0.05" }
            }],
            "digi_signatures": [], "custom_texts": []
        });
        let created: Value = super::call(&app, Method::POST, "/api/v1/public/folders", &token)
            .json(&json!({
                "folder_name": "Loopback", "date_created": 1616383852,
                "documents": [{
                    "name": "lease", "file_type": "pdf",
                    "document_hash": hex::encode(sha3::Sha3_256::digest(&original))
                }],
                "business_processes": [{
                    "type": "signature", "expiration_time": 0, "document_id": 0,
                    "is_sequential": false, "signers": [signer],
                    "completion_requirement": { "min_number": 1 }
                }]
            }))
            .send()
            .await?
            .json()
            .await?;
        let link = created["links"][0]["link"].as_str().unwrap_or_default();
        assert!(link.starts_with(&app.base_url), "{created}");
        let events = app.event_count().await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let opened = http
            .get(format!("{link}{}", URL_SAFE_NO_PAD.encode(&url)))
            .send()
            .await?;
        assert_eq!(opened.status(), StatusCode::BAD_REQUEST);
        let page = opened.text().await?;
        assert!(!page.contains(&url), "the page does not echo the URL");
        // Nothing was fetched into the library, and nothing happened to the process.
        assert_eq!(app.event_count().await?, events);
        let actions = super::first_document_actions(&app, &token, &created).await?;
        assert!(
            !actions.iter().any(|a| a.starts_with("retrieve")),
            "{actions:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn sqlite() -> anyhow::Result<()> {
        scenario(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn postgres_s3() -> anyhow::Result<()> {
        scenario(Backend::Postgres).await
    }
}

mod callbacks {
    //! Sender callbacks are durable jobs: a receiver that is down gets the message later, with
    //! the same id and body, signed with Standard Webhooks headers.

    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use signet_core::ids::{EnvelopeId, TenantId};
    use signet_core::signing::folders::{CallbackTarget, SenderCallbacks};
    use signet_testkit::{Backend, TestApp};

    type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

    async fn scenario(backend: Backend) -> anyhow::Result<()> {
        let Some(app) = TestApp::spawn(backend).await? else {
            return Ok(());
        };
        let tenant = app.tenant().await?;
        let tenant_id: TenantId = tenant.id.parse()?;
        // A port with nobody listening: the receiver is down.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        drop(listener);
        let envelope = EnvelopeId::generate();
        app.store
            .put_envelope_callbacks(
                &tenant_id,
                &envelope,
                &SenderCallbacks {
                    status_url: format!("http://{address}/status"),
                    file_url: format!("http://{address}/file"),
                },
            )
            .await?;
        let body =
            r#"{"businessProcessId":"605d89b600f7ab4d00541d30","status":"pending","signers":[]}"#;
        let message_id = app
            .core
            .queue_sender_callback(&tenant_id, &envelope, CallbackTarget::Status, body.into())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the envelope has callbacks"))?;
        let none = app
            .core
            .queue_sender_callback(
                &tenant_id,
                &EnvelopeId::generate(),
                CallbackTarget::Status,
                body.into(),
            )
            .await?;
        assert_eq!(none, None, "no callbacks, no message");
        app.run_jobs().await?;

        // The receiver comes up; the retry delivers the same message.
        let received: Received = Arc::default();
        let log = received.clone();
        let receiver = Router::new().route(
            "/status",
            post(move |headers: HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    if let Ok(mut log) = log.lock() {
                        log.push((headers, body));
                    }
                    ""
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(address).await?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, receiver).await;
        });
        assert!(
            received.lock().map(|r| r.is_empty()).unwrap_or(false),
            "nothing arrived while the receiver was down"
        );
        app.clock.advance(time::Duration::minutes(10));
        app.run_jobs().await?;
        let got = received.lock().map(|r| r.clone()).unwrap_or_default();
        assert_eq!(got.len(), 1, "delivered once");
        assert_eq!(got[0].1, body);
        assert_eq!(
            got[0].0.get("webhook-id").and_then(|v| v.to_str().ok()),
            Some(message_id.as_str())
        );
        assert!(got[0].0.contains_key("webhook-signature"));
        assert!(got[0].0.contains_key("webhook-timestamp"));
        // Nothing more to send.
        app.clock.advance(time::Duration::hours(1));
        app.run_jobs().await?;
        assert_eq!(received.lock().map(|r| r.len()).unwrap_or_default(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn sqlite() -> anyhow::Result<()> {
        scenario(Backend::Sqlite).await
    }

    #[tokio::test]
    async fn postgres_s3() -> anyhow::Result<()> {
        scenario(Backend::Postgres).await
    }
}

mod processes {
    //! Business processes end to end, as a client written from the vendor's page runs them:
    //! a folder with two documents registered by hash, a sequential process (two signers, an
    //! e-signature and two custom texts each) and a parallel one completing at 2 of 3; links
    //! completed with the URL of a local file-retrieval server; signers through the signer's app
    //! as a browser without JavaScript posts it; file callbacks feeding the client's "current
    //! file"; status callbacks in order; verification by the original's and the final's hash.
    //! Attacks: out of sequence, a wrong file, a retrieval URL at the metadata address, a void.
    //! History entries' transaction hashes proven in the transparency log through the native
    //! evidence endpoints. Also: `allow_download` withholding the signed copy, and one signer's
    //! journey in headless Chromium by an e-mailed code with JavaScript, and by an SMS code
    //! without it.

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::routing::{get, post};
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    use reqwest::{Method, StatusCode, header};
    use serde_json::{Value, json};
    use sha3::Digest as _;
    use std::time::Duration as StdDuration;

    use signet_testkit::browser::{Browser, BrowserOptions};
    use signet_testkit::phone::PhoneCapture;
    use signet_testkit::signing::{Screens, backend_name, wait_for};
    use signet_testkit::smtp::{SmtpServer, venv_python_with};
    use signet_testkit::{Backend, TestApp, TestOptions};

    /// The client's side: the current file of each document (updated by file callbacks) and
    /// every callback received, in order.
    #[derive(Default)]
    struct Client {
        files: BTreeMap<String, Vec<u8>>,
        status: Vec<Value>,
        file_callbacks: Vec<Value>,
        /// Which document each process is on.
        process_document: BTreeMap<String, String>,
        /// How many status callbacks to refuse (503) before accepting again.
        refuse_status: u32,
        /// Both callback endpoints answer 503 (the file retrieval still works).
        callbacks_down: bool,
    }

    type Shared = Arc<Mutex<Client>>;

    async fn serve(client: Shared) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route(
                "/files/{document}",
                get(
                    |State(client): State<Shared>, Path(document): Path<String>| async move {
                        let file = client
                            .lock()
                            .ok()
                            .and_then(|c| c.files.get(&document).cloned())
                            .unwrap_or_default();
                        axum::Json(json!({ "file": STANDARD.encode(file) }))
                    },
                ),
            )
            .route(
                "/status",
                post(|State(client): State<Shared>, body: String| async move {
                    let Ok(mut c) = client.lock() else {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    };
                    if c.callbacks_down {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    if c.refuse_status > 0 {
                        c.refuse_status -= 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    if let Ok(body) = serde_json::from_str(&body) {
                        c.status.push(body);
                    }
                    StatusCode::OK
                }),
            )
            .route(
                "/file",
                post(|State(client): State<Shared>, body: String| async move {
                    let Ok(body) = serde_json::from_str::<Value>(&body) else {
                        return StatusCode::BAD_REQUEST;
                    };
                    if let Ok(mut c) = client.lock() {
                        if c.callbacks_down {
                            return StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let process = body["businessProcessId"].as_str().unwrap_or_default();
                        let file = STANDARD
                            .decode(body["file"].as_str().unwrap_or_default())
                            .unwrap_or_default();
                        if let Some(document) = c.process_document.get(process).cloned() {
                            c.files.insert(document, file);
                        }
                        c.file_callbacks.push(body);
                    }
                    StatusCode::OK
                }),
            )
            .with_state(client);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    fn no_redirects() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client")
    }

    fn cookie_of(response: &reqwest::Response) -> Option<String> {
        response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    }

    fn attribute_values(page: &str, prefix: &str) -> Vec<String> {
        page.match_indices(prefix)
            .filter_map(|(at, _)| {
                page[at + prefix.len()..]
                    .split('"')
                    .next()
                    .map(str::to_owned)
            })
            .collect()
    }

    fn esigner(name: &str, email: &str, sequence: u32, x: &str) -> Value {
        let place = |x: &str, y: &str| {
            json!({
                "placement": { "page": 1, "x": x, "y": y },
                "dimensions": { "width": "0.2", "height": "0.05" }
            })
        };
        let mut text = place(x, "0.3");
        text["descriptor"] = json!("NRIC");
        text["is_mandatory"] = json!(true);
        text["type"] = json!("text");
        let mut date = place(x, "0.4");
        date["descriptor"] = json!("Date");
        date["is_mandatory"] = json!(true);
        date["type"] = json!("custom-date");
        json!({
            "signer_email": email,
            "signer_name": name,
            "signer_phone": "+6581234567",
            "sequence_number": sequence,
            "require_authentication": false,
            "verify_method": "NO_AUTHENTICATION",
            "esignatures": [place(x, "0.7")],
            "digi_signatures": [],
            "custom_texts": if sequence > 0 { json!([text, date]) } else { json!([]) },
        })
    }

    /// Opens `link` completed with `retrieval`, signs as the app's plain form posts it, and
    /// answers the statuses met on the way. Answers the session cookie and the review page.
    async fn sign_through_the_app(
        http: &reqwest::Client,
        link: &str,
        retrieval: &str,
    ) -> anyhow::Result<(String, String)> {
        let opened = http
            .get(format!("{link}{}", URL_SAFE.encode(retrieval)))
            .send()
            .await?;
        anyhow::ensure!(opened.status() == 303, "open: {}", opened.status());
        let verified = http
            .post(format!("{link}/verify"))
            .form(&[("code", "")])
            .send()
            .await?;
        anyhow::ensure!(verified.status() == 303, "verify: {}", verified.status());
        let cookie = cookie_of(&verified).ok_or_else(|| anyhow::anyhow!("no session"))?;
        let page = http
            .get(link)
            .header(header::COOKIE, &cookie)
            .send()
            .await?
            .text()
            .await?;
        // The sign form comes first; the decline form has its own token.
        let form = attribute_values(&page, "name=\"form\" value=\"")
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no sign form: {page}"))?;
        let mut pairs = vec![
            ("form".to_owned(), form),
            ("signature_name".to_owned(), "Signed Name".to_owned()),
            ("consent".to_owned(), "yes".to_owned()),
        ];
        for name in attribute_values(&page, "name=\"field.") {
            let at = page
                .find(&format!("name=\"field.{name}\""))
                .unwrap_or_default();
            let tag = page[..at].rfind("<input").map(|start| &page[start..at]);
            let value = if tag.is_some_and(|t| t.contains("type=\"date\"")) {
                "2026-11-30"
            } else {
                "S1234567A"
            };
            pairs.push((format!("field.{name}"), value.to_owned()));
        }
        let signed = http
            .post(format!("{link}/sign"))
            .header(header::COOKIE, &cookie)
            .form(&pairs)
            .send()
            .await?;
        anyhow::ensure!(signed.status() == 303, "sign: {}", signed.status());
        Ok((cookie, page))
    }

    /// Runs the jobs due, letting the clock pass over the retries of jobs that wait for others.
    async fn settle(app: &TestApp) -> anyhow::Result<()> {
        for _ in 0..4 {
            app.run_jobs().await?;
            app.clock.advance(time::Duration::minutes(5));
        }
        Ok(())
    }

    async fn scenario(backend: Backend) -> anyhow::Result<()> {
        let Some(app) = TestApp::spawn(backend).await? else {
            return Ok(());
        };
        let http = no_redirects();
        let tenant = app.tenant().await?;
        let client: Shared = Arc::default();
        let base = serve(client.clone()).await?;
        let basic = STANDARD.encode(format!("{}:{}", tenant.id, tenant.api_key));
        let answer: Value = super::token_with(
            &app,
            &format!("Basic {basic}"),
            &json!({ "fileCallback": format!("{base}/file"), "statusCallback": format!("{base}/status") }),
        )
        .await?
        .json()
        .await?;
        let token = answer["token"].as_str().unwrap_or_default().to_owned();

        let originals = [
            signet_pdf::sample::blank_with_trailer(1, ""),
            signet_pdf::sample::blank_with_trailer(2, ""),
        ];
        let hash = |bytes: &[u8]| hex::encode(sha3::Sha3_256::digest(bytes));
        let expiry = app.core.now().unix_timestamp() + 30 * 86_400;
        let body = json!({
            "folder_name": "Leases",
            "date_created": 1616383852,
            "documents": [
                { "name": "lease", "file_type": "pdf", "document_hash": hash(&originals[0]) },
                { "name": "annex", "file_type": "pdf", "document_hash": hash(&originals[1]) },
            ],
            "business_processes": [
                {
                    "type": "signature", "expiration_time": expiry, "document_id": 0,
                    "is_sequential": true, "allow_download": true,
                    "signers": [
                        esigner("Alice Tan", "alice@example.com", 1, "0.1"),
                        esigner("Bobby Chia", "bobby@example.com", 2, "0.6"),
                    ],
                    "completion_requirement": { "min_number": 2 }
                },
                {
                    "type": "signature", "expiration_time": 0, "document_id": 1,
                    "is_sequential": false, "allow_download": false,
                    "signers": [
                        esigner("Carol", "carol@example.com", 0, "0.1"),
                        esigner("Dan", "dan@example.com", 0, "0.4"),
                        esigner("Eve", "eve@example.com", 0, "0.7"),
                    ],
                    "completion_requirement": { "min_number": 2 }
                }
            ]
        });
        let response = super::call(&app, Method::POST, "/api/v1/public/folders", &token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await?;
        let want = super::sample(super::FOLDER_ANSWER);
        super::same_shape(
            "businessProcesses",
            &created["businessProcesses"],
            &want["businessProcesses"],
        );
        super::same_shape("links", &created["links"], &want["links"]);
        let documents: Vec<String> = created["documents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_str().map(str::to_owned))
            .collect();
        let processes: Vec<String> = created["businessProcesses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!((documents.len(), processes.len()), (2, 2));
        for p in &processes {
            assert!(
                p.len() == 24 && p.bytes().all(|b| b.is_ascii_hexdigit()),
                "{p}"
            );
        }
        {
            let mut c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            for (i, d) in documents.iter().enumerate() {
                c.files.insert(d.clone(), originals[i].clone());
                c.process_document.insert(processes[i].clone(), d.clone());
            }
        }
        let sequential = &created["businessProcesses"][0];
        assert_eq!(sequential["status"], "pending");
        assert_eq!(sequential["signers"][1]["sequence_number"], 2);
        assert_eq!(
            sequential["signers"][0]["custom_texts"][1]["type"],
            "custom-date"
        );
        assert_eq!(sequential["completion_requirement"]["min_number"], 2);

        // The links, also from their own endpoint; signer ids are SIG_ + 24 hex.
        let links: Value = super::call(
            &app,
            Method::GET,
            &format!("/api/v1/public/business-processes/{}/links", processes[0]),
            &token,
        )
        .send()
        .await?
        .json()
        .await?;
        let link_of =
            |links: &Value, i: usize| links[i]["link"].as_str().unwrap_or_default().to_owned();
        assert_eq!(links["links"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            links["links"][0]["signerId"],
            created["links"][0]["signerId"]
        );
        let signer_id = links["links"][0]["signerId"].as_str().unwrap_or_default();
        assert!(
            signer_id.starts_with("SIG_") && signer_id.len() == 28,
            "{signer_id}"
        );
        let (alice, bobby) = (link_of(&links["links"], 0), link_of(&links["links"], 1));
        assert!(alice.starts_with(&app.base_url), "{alice}");
        let retrieval = |d: usize| format!("{base}/files/{}?v=1&x=y", documents[d]);

        // Attacks first. A retrieval URL at the metadata address, or one answering another
        // file, is refused; nothing is signed.
        for url in [
            "http://169.254.169.254/latest/meta-data".to_owned(),
            format!("{base}/files/{}", documents[1]),
        ] {
            let opened = http
                .get(format!("{alice}{}", URL_SAFE_NO_PAD.encode(&url)))
                .send()
                .await?;
            assert_eq!(opened.status(), StatusCode::BAD_REQUEST, "{url}");
        }
        // Bobby comes second: he cannot start before Alice signed, whatever the client does.
        let bobby_opened = http
            .get(format!("{bobby}{}", URL_SAFE_NO_PAD.encode(retrieval(0))))
            .send()
            .await?;
        assert_eq!(bobby_opened.status(), StatusCode::SEE_OTHER);
        let early = http
            .post(format!("{bobby}/verify"))
            .form(&[("code", "")])
            .send()
            .await?;
        assert_eq!(early.status(), StatusCode::CONFLICT);

        // Alice, then Bobby, each with the client's current file. The status receiver refuses
        // the first callback twice: Bobby signs while Alice's callback waits for its retry, and
        // his (the completion) is held until hers is delivered.
        client
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .refuse_status = 2;
        sign_through_the_app(&http, &alice, &retrieval(0)).await?;
        app.run_jobs().await?;
        let after_alice = client
            .lock()
            .map(|c| c.files[&documents[0]].clone())
            .unwrap_or_default();
        assert_ne!(
            after_alice, originals[0],
            "the file callback brought Alice's version"
        );
        sign_through_the_app(&http, &bobby, &retrieval(0)).await?;
        app.run_jobs().await?;
        {
            let c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            assert_eq!(c.refuse_status, 1, "one attempt so far, refused");
            assert!(
                c.status.is_empty(),
                "the completion waits for Alice's callback: {:?}",
                c.status
            );
        }
        settle(&app).await?;
        assert_eq!(
            client.lock().map(|c| c.refuse_status).ok(),
            Some(0),
            "both refusals were used"
        );

        // The parallel process completes at 2 of 3; the third is released. Both callback
        // endpoints are down for an hour while its two signatures are made: everything arrives
        // once they are back, in order, nothing lost and nothing twice.
        client
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .callbacks_down = true;
        let parallel: Value = super::call(
            &app,
            Method::GET,
            &format!("/api/v1/public/business-processes/{}/links", processes[1]),
            &token,
        )
        .send()
        .await?
        .json()
        .await?;
        sign_through_the_app(&http, &link_of(&parallel["links"], 2), &retrieval(1)).await?;
        settle(&app).await?;
        sign_through_the_app(&http, &link_of(&parallel["links"], 0), &retrieval(1)).await?;
        // The rest of the hour, in steps of 20 minutes (`settle`).
        for _ in 0..2 {
            settle(&app).await?;
        }
        {
            let c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            let none = |list: &[Value]| list.iter().all(|s| s["businessProcessId"] != processes[1]);
            assert!(
                none(&c.status) && none(&c.file_callbacks),
                "the endpoints were down"
            );
        }
        client
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .callbacks_down = false;
        // The next retries fall within the following hours (5 s, 5 min, 30 min, 2 h, …).
        for _ in 0..3 {
            app.clock.advance(time::Duration::hours(1));
            settle(&app).await?;
        }
        let late =
            sign_through_the_app(&http, &link_of(&parallel["links"], 1), &retrieval(1)).await;
        assert!(late.is_err(), "the third signer was released");

        let (status, files, current) = {
            let c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            (c.status.clone(), c.file_callbacks.clone(), c.files.clone())
        };
        // Status callbacks in order, per process: each signature, the last one completing.
        let of = |p: &str| -> Vec<(String, Vec<bool>)> {
            status
                .iter()
                .filter(|s| s["businessProcessId"] == p)
                .map(|s| {
                    (
                        s["status"].as_str().unwrap_or_default().to_owned(),
                        s["signers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|x| x["has_signed"] == true)
                            .collect(),
                    )
                })
                .collect()
        };
        assert_eq!(
            of(&processes[0]),
            [
                ("pending".to_owned(), vec![true, false]),
                ("completed".to_owned(), vec![true, true]),
            ]
        );
        assert_eq!(
            of(&processes[1]),
            [
                ("pending".to_owned(), vec![false, false, true]),
                ("completed".to_owned(), vec![true, false, true]),
            ]
        );
        let first = status
            .iter()
            .find(|s| s["businessProcessId"] == processes[0]);
        let first = first.ok_or_else(|| anyhow::anyhow!("a status callback"))?;
        assert_eq!(first["signers"][0]["id"], signer_id);
        assert_eq!(first["signers"][1]["sequence_number"], 2);
        // File callbacks: one per signature and the sealed result, each a PDF; each once.
        for process in &processes {
            assert_eq!(
                files
                    .iter()
                    .filter(|f| f["businessProcessId"] == process.as_str())
                    .count(),
                3,
                "{process}"
            );
        }
        // Each file callback's PDF, in the order they arrived (the signer's version, the next
        // signer's, the sealed result), passes pyHanko trusted against the instance root and
        // pdfsig, with as many signatures as signers so far.
        let pdfs_of = |process: &str| -> Vec<Vec<u8>> {
            files
                .iter()
                .filter(|f| f["businessProcessId"] == process)
                .map(|f| {
                    STANDARD
                        .decode(f["file"].as_str().unwrap_or_default())
                        .unwrap_or_default()
                })
                .collect()
        };
        for process in &processes {
            for (i, pdf) in pdfs_of(process).iter().enumerate() {
                assert!(pdf.starts_with(b"%PDF"), "{process} file {i}");
                signet_testkit::signing::validate_at_app_time(
                    &app,
                    pdf,
                    (i + 1).min(2),
                    &["Signed Name"],
                )
                .await?;
            }
        }
        let last = pdfs_of(&processes[0]).pop().unwrap_or_default();
        assert_eq!(
            current.get(&documents[0]),
            Some(&last),
            "the client's current file is the sealed result"
        );

        // The verifier finds the process by the original's and the final's hash.
        for bytes in [&originals[0], &last] {
            let found: Value = super::call(
                &app,
                Method::GET,
                &format!("/api/v1/public/verifier/doc-hashes/{}/result", hash(bytes)),
                &token,
            )
            .send()
            .await?
            .json()
            .await?;
            assert_eq!(found[0]["document"]["id"], documents[0].as_str(), "{found}");
            assert_eq!(found[0]["process"]["status"], "completed");
            let history = found[0]["process"]["history"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(history.len() >= 2, "created and signed at least: {found}");
            for entry in &history {
                let hash = entry["transaction_hash"].as_str().unwrap_or_default();
                let leaf: [u8; 32] = hex::decode(hash.trim_start_matches("0x"))?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
                assert!(app.store.leaf_index(&leaf).await?.is_some(), "{hash}");
                proven_in_log(&app, &leaf).await?;
            }
        }

        // A void ends a pending process and says so.
        let third = super::call(&app, Method::POST, "/api/v1/public/documents", &token)
            .json(&json!({
                "document_name": "memo", "date_created": 1616383852, "file_type": "pdf",
                "document_hash": hash(&originals[0]), "parent_folder": created["folder"]["id"],
                "business_process": {
                    "type": "signature", "expiration_time": 0, "is_sequential": false,
                    "signers": [esigner("Fay", "fay@example.com", 0, "0.1")],
                    "completion_requirement": { "min_number": 1 }
                }
            }))
            .send()
            .await?;
        assert_eq!(third.status(), StatusCode::CREATED);
        let third: Value = third.json().await?;
        let voided = super::call(
            &app,
            Method::PUT,
            &format!(
                "/api/v1/public/documents/{}/status",
                third["document"]["id"].as_str().unwrap_or_default()
            ),
            &token,
        )
        .json(&json!({ "status": "voided", "request_date": 1616383852 }))
        .send()
        .await?;
        assert_eq!(voided.status(), StatusCode::OK);
        settle(&app).await?;
        let process = third["businessProcess"]["id"].as_str().unwrap_or_default();
        let last_status = client.lock().ok().and_then(|c| {
            c.status
                .iter()
                .rev()
                .find(|s| s["businessProcessId"] == process)
                .cloned()
        });
        assert_eq!(
            last_status.map(|s| s["status"].clone()),
            Some(json!("voided"))
        );

        // A process whose expiration_time passes says `expired`, with nobody signed.
        let expiring = super::call(&app, Method::POST, "/api/v1/public/documents", &token)
            .json(&json!({
                "document_name": "offer", "date_created": 1616383852, "file_type": "pdf",
                "document_hash": hash(&originals[1]), "parent_folder": created["folder"]["id"],
                "business_process": {
                    "type": "signature",
                    "expiration_time": app.core.now().unix_timestamp() + 86_400,
                    "is_sequential": false,
                    "signers": [esigner("Gus", "gus@example.com", 0, "0.1")],
                    "completion_requirement": { "min_number": 1 }
                }
            }))
            .send()
            .await?;
        assert_eq!(expiring.status(), StatusCode::CREATED);
        let expiring: Value = expiring.json().await?;
        let process = expiring["businessProcess"]["id"]
            .as_str()
            .unwrap_or_default();
        app.clock.advance(time::Duration::days(2));
        settle(&app).await?;
        let statuses: Vec<Value> = client
            .lock()
            .map(|c| {
                c.status
                    .iter()
                    .filter(|s| s["businessProcessId"] == process)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        assert_eq!(statuses[0]["status"], "expired");
        assert_eq!(statuses[0]["signers"][0]["has_signed"], false);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() -> anyhow::Result<()> {
        scenario(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_s3() -> anyhow::Result<()> {
        scenario(Backend::Postgres).await
    }

    /// `allow_download`: the process reads it back as sent, and a signer of a process with
    /// `false` finds no signed copy on the done page nor at its URL once the process is sealed,
    /// while one of a process with `true` downloads it.
    async fn allow_download(backend: Backend) -> anyhow::Result<()> {
        let Some(app) = TestApp::spawn(backend).await? else {
            return Ok(());
        };
        let http = no_redirects();
        let tenant = app.tenant().await?;
        let client: Shared = Arc::default();
        let base = serve(client.clone()).await?;
        let token = super::token(&app, &tenant).await?;
        let originals = [
            signet_pdf::sample::blank_with_trailer(1, ""),
            signet_pdf::sample::blank_with_trailer(2, ""),
        ];
        let hash = |bytes: &[u8]| hex::encode(sha3::Sha3_256::digest(bytes));
        let process = |document: usize, allow: bool, email: &str| {
            json!({
                "type": "signature", "expiration_time": 0, "document_id": document,
                "is_sequential": false, "allow_download": allow,
                "signers": [esigner("Signer", email, 0, "0.1")],
                "completion_requirement": { "min_number": 1 }
            })
        };
        let response = super::call(&app, Method::POST, "/api/v1/public/folders", &token)
            .json(&json!({
                "folder_name": "Copies",
                "date_created": 1616383852,
                "documents": [
                    { "name": "withheld", "file_type": "pdf", "document_hash": hash(&originals[0]) },
                    { "name": "offered", "file_type": "pdf", "document_hash": hash(&originals[1]) },
                ],
                "business_processes": [
                    process(0, false, "hana@example.com"),
                    process(1, true, "ivan@example.com"),
                ]
            }))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await?;
        let processes = &created["businessProcesses"];
        assert_eq!(processes[0]["allow_download"], false, "{created}");
        assert_eq!(processes[1]["allow_download"], true, "{created}");
        let links = &created["links"];
        let link_of = |i: usize| -> anyhow::Result<String> {
            let process = processes[i]["id"].as_str().unwrap_or_default();
            links
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["businessProcessId"] == process)
                .and_then(|l| l["link"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("no link for process {i}: {links}"))
        };
        let (withheld, offered) = (link_of(0)?, link_of(1)?);
        {
            let mut c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            for (i, name) in ["withheld", "offered"].into_iter().enumerate() {
                c.files.insert(name.to_owned(), originals[i].clone());
                if let Some(p) = processes[i]["id"].as_str() {
                    c.process_document.insert(p.to_owned(), name.to_owned());
                }
            }
        }
        let (withheld_cookie, withheld_review) =
            sign_through_the_app(&http, &withheld, &format!("{base}/files/withheld")).await?;
        let (offered_cookie, _) =
            sign_through_the_app(&http, &offered, &format!("{base}/files/offered")).await?;
        // Both processes complete with their one signature and are sealed.
        settle(&app).await?;

        // The verifier reads each process back from the store, as sent.
        for (i, allow) in [(0, false), (1, true)] {
            let found: Value = super::call(
                &app,
                Method::GET,
                &format!(
                    "/api/v1/public/verifier/doc-hashes/{}/result",
                    hash(&originals[i])
                ),
                &token,
            )
            .send()
            .await?
            .json()
            .await?;
            assert_eq!(found[0]["process"]["status"], "completed", "{found}");
            assert_eq!(found[0]["process"]["allow_download"], allow, "{found}");
        }

        let done = |link: &str, cookie: &str| {
            let request = http.get(link).header(header::COOKIE, cookie);
            async move { anyhow::Ok(request.send().await?.text().await?) }
        };
        // Offered: the done page links the copy, which downloads as a PDF.
        let page = done(&offered, &offered_cookie).await?;
        let href = attribute_values(&page, "href=\"")
            .into_iter()
            .find(|h| h.contains("/signed/"))
            .ok_or_else(|| anyhow::anyhow!("no signed copy on the done page: {page}"))?;
        let url = if href.starts_with("http") {
            href.clone()
        } else {
            format!("{}{href}", app.base_url)
        };
        let copy = http
            .get(&url)
            .header(header::COOKIE, &offered_cookie)
            .send()
            .await?;
        assert_eq!(copy.status(), StatusCode::OK, "{url}");
        assert!(copy.bytes().await?.starts_with(b"%PDF"));

        // Withheld: the done page has no link, and the URL the link would have had refuses.
        let page = done(&withheld, &withheld_cookie).await?;
        assert!(
            page.contains("<html") && !page.contains("/signed/"),
            "a signed copy offered: {page}"
        );
        let document = attribute_values(&withheld_review, "/pages/")
            .into_iter()
            .next()
            .and_then(|rest| rest.split('/').next().map(str::to_owned))
            .ok_or_else(|| anyhow::anyhow!("no page image: {withheld_review}"))?;
        let refused = http
            .get(format!("{withheld}/signed/{document}"))
            .header(header::COOKIE, &withheld_cookie)
            .send()
            .await?;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(!refused.bytes().await?.starts_with(b"%PDF"));
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn allow_download_sqlite() -> anyhow::Result<()> {
        allow_download(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn allow_download_postgres_s3() -> anyhow::Result<()> {
        allow_download(Backend::Postgres).await
    }

    /// Checks `leaf` as an outside verifier would, through Signet's native evidence endpoints:
    /// its inclusion proof leads to the root of a checkpoint signed by the instance's ledger key,
    /// and the same proof does not hold for another leaf.
    async fn proven_in_log(app: &TestApp, leaf: &signet_ledger::Hash) -> anyhow::Result<()> {
        let get = |path: String| {
            let request = app.http.get(app.url(&path));
            async move { anyhow::Ok(request.send().await?.error_for_status()?.text().await?) }
        };
        let key = get("/v1/ledger/public-key".into()).await?;
        let verifier = signet_ledger::NoteVerifier::from_verifier_key_string(key.trim())?;
        let checkpoint = verifier.open(&get("/v1/ledger/checkpoint".into()).await?)?;
        let proof: Value = serde_json::from_str(
            &get(format!(
                "/v1/ledger/proof/inclusion?leaf_hash=0x{}&tree_size={}",
                hex::encode(leaf),
                checkpoint.size
            ))
            .await?,
        )?;
        let index = proof["leaf_index"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no leaf index: {proof}"))?;
        let mut path = Vec::new();
        for step in proof["proof"].as_array().into_iter().flatten() {
            let step: signet_ledger::Hash =
                hex::decode(step.as_str().unwrap_or_default().trim_start_matches("0x"))?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("a proof step is not 32 bytes: {proof}"))?;
            path.push(step);
        }
        signet_ledger::verify_inclusion(
            leaf,
            index,
            checkpoint.size,
            &path,
            &checkpoint.root_hash,
        )?;
        let mut other = *leaf;
        other[0] ^= 1;
        assert!(
            signet_ledger::verify_inclusion(
                &other,
                index,
                checkpoint.size,
                &path,
                &checkpoint.root_hash
            )
            .is_err(),
            "a proof proves one leaf only"
        );
        Ok(())
    }

    /// How the journey's signer proves who they are, and with what browser.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Channel {
        /// `verify_method: EMAIL`, the code from a real SMTP server; JavaScript on.
        EmailWithScript,
        /// `verify_method: SMS`, the code from the phone provider's capture; JavaScript off.
        SmsWithoutScript,
    }

    /// The signer's phone number, as the vendor's samples write it.
    const SIGNER_PHONE: &str = "+6581234567";

    /// One Dedoco signer in headless Chromium: the link completed with the client's retrieval
    /// URL, the code (by e-mail with JavaScript, or by SMS with JavaScript turned off), the
    /// signature, the client's file and status callbacks, and the signed copy on the done page.
    /// Screenshots under `target/screenshots/dedoco-{email,sms}-<backend>-*.png`.
    async fn journey(backend: Backend, channel: Channel) -> anyhow::Result<()> {
        let Some(python) = venv_python_with("aiosmtpd") else {
            return Ok(());
        };
        let smtp = SmtpServer::start(&python, None).await?;
        let phone = PhoneCapture::start().await?;
        let options = TestOptions {
            mail: Some((
                format!("smtp://127.0.0.1:{}", smtp.port),
                "Signet <no-reply@signet.test>".into(),
            )),
            sms_url: Some(phone.url().to_owned()),
            ..TestOptions::default()
        };
        let Some(app) = TestApp::spawn_with(backend, options).await? else {
            return Ok(());
        };
        let (browser_options, word) = match channel {
            Channel::EmailWithScript => (BrowserOptions::default(), "email"),
            Channel::SmsWithoutScript => (BrowserOptions::default().without_javascript(), "sms"),
        };
        let Some(browser) = Browser::start_with(browser_options).await? else {
            return Ok(());
        };
        let screens = Screens {
            browser: &browser,
            prefix: format!("dedoco-{word}-{}", backend_name(backend)),
        };
        let tenant = app.tenant().await?;
        let client: Shared = Arc::default();
        let base = serve(client.clone()).await?;
        let basic = STANDARD.encode(format!("{}:{}", tenant.id, tenant.api_key));
        let answer: Value = super::token_with(
            &app,
            &format!("Basic {basic}"),
            &json!({ "fileCallback": format!("{base}/file"), "statusCallback": format!("{base}/status") }),
        )
        .await?
        .json()
        .await?;
        let token = answer["token"].as_str().unwrap_or_default().to_owned();
        let original = signet_pdf::sample::blank_with_trailer(1, "");
        let mut signer = esigner("Jo Tan", "jo@example.com", 0, "0.1");
        let verify_method = match channel {
            Channel::EmailWithScript => "EMAIL",
            Channel::SmsWithoutScript => "SMS",
        };
        signer["verify_method"] = json!(verify_method);
        signer["signer_phone"] = json!(SIGNER_PHONE);
        signer["require_authentication"] = json!(true);
        let response = super::call(&app, Method::POST, "/api/v1/public/folders", &token)
            .json(&json!({
                "folder_name": "Journey",
                "date_created": 1616383852,
                "documents": [{
                    "name": "lease", "file_type": "pdf",
                    "document_hash": hex::encode(sha3::Sha3_256::digest(&original)),
                }],
                "business_processes": [{
                    "type": "signature", "expiration_time": 0, "document_id": 0,
                    "is_sequential": false, "allow_download": true,
                    "signers": [signer],
                    "completion_requirement": { "min_number": 1 }
                }]
            }))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await?;
        let process = &created["businessProcesses"][0];
        assert_eq!(
            process["signers"][0]["verify_method"], verify_method,
            "{created}"
        );
        let process = process["id"].as_str().unwrap_or_default().to_owned();
        let link = created["links"][0]["link"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        {
            let mut c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            c.files.insert("lease".into(), original.clone());
            c.process_document.insert(process.clone(), "lease".into());
        }

        // The client hands out the link with its retrieval URL appended (query string and all).
        let retrieval = format!("{base}/files/lease?v=1&x=y");
        browser
            .goto(&format!("{link}{}", URL_SAFE_NO_PAD.encode(&retrieval)))
            .await?;
        wait_for(&browser, "id=\"start\"").await?;
        screens.shot("send-code").await?;
        browser.click("#start").await?;
        wait_for(&browser, "id=\"code\"").await?;
        let mut code = None;
        for _ in 0..200 {
            app.run_jobs().await?;
            code = match channel {
                Channel::EmailWithScript => smtp
                    .messages()?
                    .into_iter()
                    .filter(|m| m.to.contains("jo@example.com") && m.subject.contains("code"))
                    .find_map(|m| signet_testkit::phone::extract_code(&m.text)),
                Channel::SmsWithoutScript => phone.latest_code(SIGNER_PHONE),
            };
            if code.is_some() {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let code = code.ok_or_else(|| {
            anyhow::anyhow!("no code sent: {:?} {:?}", smtp.messages(), phone.messages())
        })?;
        browser.fill("#code", &code).await?;
        screens.shot("enter-code").await?;
        browser.click("#verify").await?;
        wait_for(&browser, "id=\"sign-form\"").await?;
        // The drawing pad is the script's: shown with JavaScript, hidden without.
        assert_eq!(
            browser.find("#draw").await?.is_displayed().await?,
            channel == Channel::EmailWithScript,
            "the script ran only where JavaScript is on"
        );
        browser.fill("#signature-name", "Jo Tan").await?;
        screens.shot("review").await?;
        browser.click("#consent").await?;
        browser.click("#sign").await?;
        wait_for(&browser, "You signed").await?;
        screens.shot("signed").await?;

        // The callbacks: the signer's version, then the sealed result, and `completed`.
        settle(&app).await?;
        let (status, files) = {
            let c = client.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            (c.status.clone(), c.file_callbacks.clone())
        };
        let statuses: Vec<&Value> = status.iter().map(|s| &s["status"]).collect();
        assert_eq!(statuses, [&json!("completed")], "{status:?}");
        assert_eq!(status[0]["signers"][0]["has_signed"], true);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_ne!(files[0]["file"], files[1]["file"], "the seal came second");
        // Both carry the one signer's signature (the seal is the instance's, not a signer's).
        for f in &files {
            assert_eq!(f["businessProcessId"], process.as_str());
            let pdf = STANDARD.decode(f["file"].as_str().unwrap_or_default())?;
            signet_testkit::signing::validate_at_app_time(&app, &pdf, 1, &["Jo Tan"]).await?;
        }

        // Sealed: the done page now offers the signed copy.
        browser.goto(&link).await?;
        wait_for(&browser, "/signed/").await?;
        screens.shot("done").await?;
        browser.close().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn journey_by_email_code_sqlite() -> anyhow::Result<()> {
        journey(Backend::Sqlite, Channel::EmailWithScript).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn journey_by_email_code_postgres_s3() -> anyhow::Result<()> {
        journey(Backend::Postgres, Channel::EmailWithScript).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn journey_by_sms_code_without_javascript_sqlite() -> anyhow::Result<()> {
        journey(Backend::Sqlite, Channel::SmsWithoutScript).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn journey_by_sms_code_without_javascript_postgres_s3() -> anyhow::Result<()> {
        journey(Backend::Postgres, Channel::SmsWithoutScript).await
    }
}
