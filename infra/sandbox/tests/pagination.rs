//! The Support API's lists are paginated as Zendesk paginates them, with small pages: webhooks
//! by cursor, triggers by offset or by cursor.

use serde_json::{Value, json};
use zendesk_sandbox::{Role, Sandbox};

struct Api {
    sandbox: Sandbox,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn start() -> Self {
        let sandbox = Sandbox::start().await;
        sandbox.add_user("Admin", "admin@acme.test", Role::Admin);
        let token = sandbox.add_api_token();
        Self {
            sandbox,
            http: reqwest::Client::new(),
            token,
        }
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.sandbox.base_url())
        };
        let mut request = self
            .http
            .request(method, url)
            .basic_auth("admin@acme.test/token", Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, url: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, url, None).await;
        assert_eq!(status, 200, "GET {url}: {body}");
        body
    }

    /// Every record of a list, following `next` (a `links.next` or `next_page` URL).
    async fn walk(
        &self,
        first: &str,
        key: &str,
        next: fn(&Value) -> &Value,
    ) -> (Vec<Value>, usize) {
        let mut records = Vec::new();
        let mut pages = 0;
        let mut url = Some(first.to_owned());
        while let Some(current) = url.take() {
            let page = self.get(&current).await;
            pages += 1;
            let batch = page[key].as_array().unwrap();
            assert!(batch.len() <= 5, "pages are small: {}", batch.len());
            records.extend(batch.iter().cloned());
            url = next(&page).as_str().map(str::to_owned);
        }
        (records, pages)
    }
}

#[tokio::test]
async fn webhooks_come_in_cursor_pages_oldest_first() {
    let api = Api::start().await;
    let mut created = Vec::new();
    for i in 0..12 {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/api/v2/webhooks",
                Some(json!({"webhook": {"name": format!("hook {i}"), "endpoint": "https://example.test/hook", "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"]}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        created.push(body["webhook"]["id"].as_str().unwrap().to_owned());
    }

    let first = api.get("/api/v2/webhooks?page[size]=100").await;
    assert_eq!(first["webhooks"].as_array().unwrap().len(), 5);
    assert_eq!(first["meta"]["has_more"], true);
    assert_eq!(first["meta"]["after_cursor"], created[4].as_str());

    let (listed, pages) = api
        .walk("/api/v2/webhooks?page[size]=100", "webhooks", |page| {
            &page["links"]["next"]
        })
        .await;
    assert_eq!(pages, 3);
    let ids: Vec<&str> = listed.iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids, created,
        "each webhook once, in the order they were made"
    );

    let (status, body) = api
        .call(
            reqwest::Method::GET,
            "/api/v2/webhooks?page[after]=nope",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn triggers_come_in_offset_pages_or_cursor_pages() {
    let api = Api::start().await;
    for i in 0..7 {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/api/v2/triggers",
                Some(json!({"trigger": {"title": format!("trigger {i}"), "conditions": {"all": [], "any": []}, "actions": []}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let titles = |records: &[Value]| -> Vec<String> {
        records
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected: Vec<String> = (0..7).map(|i| format!("trigger {i}")).collect();

    let first = api.get("/api/v2/triggers").await;
    assert_eq!(first["count"], 7);
    assert!(first["next_page"].is_string(), "{first}");
    let (offset, pages) = api
        .walk("/api/v2/triggers", "triggers", |page| &page["next_page"])
        .await;
    assert_eq!((titles(&offset), pages), (expected.clone(), 2));

    let (cursor, pages) = api
        .walk("/api/v2/triggers.json?page[size]=100", "triggers", |page| {
            &page["links"]["next"]
        })
        .await;
    assert_eq!((titles(&cursor), pages), (expected, 2));
}
