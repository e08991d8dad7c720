//! The Help Center: articles per brand (published or draft, public or restricted to a user
//! segment), listed by `GET /api/v2/help_center/{locale}/articles` with cursor pagination.
//!
//! As in Zendesk, each brand's Help Center is served on its own host, told apart by the
//! request's `Host`: `{subdomain}.zendesk.com` serves that brand's articles, any other host
//! (the sandbox's own address, standing for the account's host) the default brand's (the
//! first brand added; an article added without a brand belongs to it too). A brand without a
//! Help Center answers 404. Article links (`html_url`) are on the brand's Help Center host.
//! Pages hold at most
//! [`HelpCenter::page_size`] articles (3 unless changed), far fewer than Zendesk's 100, so
//! every client crosses pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Shared;

/// The section every article is filed in (one per brand).
const SECTION_BASE: u64 = 360_000_000;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ArticleView {
    pub id: u64,
    pub brand_id: Option<u64>,
    pub title: String,
    /// HTML.
    pub body: String,
    pub draft: bool,
    pub user_segment_id: Option<u64>,
    pub locale: String,
}

pub(crate) struct HelpCenter {
    pub articles: BTreeMap<u64, ArticleView>,
    pub page_size: usize,
}

impl Default for HelpCenter {
    fn default() -> Self {
        Self {
            articles: BTreeMap::new(),
            page_size: 3,
        }
    }
}

fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    words.join("-")
}

impl HelpCenter {
    /// `api_base`: the origin the API was called on; `help_center`: the brand's Help Center's.
    pub fn article_json(article: &ArticleView, api_base: &str, help_center: &str) -> Value {
        let locale = &article.locale;
        json!({
            "id": article.id,
            "url": format!("{api_base}/api/v2/help_center/{locale}/articles/{}.json", article.id),
            "html_url": format!("{help_center}/hc/{locale}/articles/{}-{}", article.id, slug(&article.title)),
            "title": article.title,
            "name": article.title,
            "body": article.body,
            "draft": article.draft,
            "user_segment_id": article.user_segment_id,
            "section_id": SECTION_BASE + article.brand_id.unwrap_or(0),
            "locale": locale,
            "source_locale": locale,
            "outdated": false,
            "promoted": false,
            "label_names": [],
        })
    }
}

fn not_found() -> (StatusCode, axum::Json<Value>) {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "RecordNotFound", "description": "Not found"})),
    )
}

/// `GET /api/v2/help_center/{locale}/articles`: the articles in `locale` of the brand the
/// request's host belongs to (drafts and restricted ones included, as an agent sees them),
/// oldest first, by cursor.
pub(crate) async fn list_articles(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(locale): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    let world = shared.world();
    let locale = locale.trim_end_matches(".json").to_lowercase();
    let default_brand = world.brands.keys().next().copied();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    // The links of a page stay on the host it was asked on, as Zendesk's do.
    let (brand, base) = match host.strip_suffix(".zendesk.com") {
        Some(subdomain) => match world.brand_by_subdomain(subdomain) {
            Some(brand) => (Some(brand), format!("https://{host}")),
            None => return not_found(),
        },
        None => (default_brand, world.base_url.clone()),
    };
    let help_center = match brand.and_then(|id| world.brands.get(&id)) {
        Some(b) if !b.has_help_center => return not_found(),
        Some(b) => format!("https://{}.zendesk.com", b.subdomain),
        None => world.base_url.clone(),
    };
    let size = query
        .get("page[size]")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(world.help_center.page_size.max(1));
    let after = query
        .get("page[after]")
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0);
    let mut matching = world.help_center.articles.values().filter(|a| {
        let of_brand = a.brand_id == brand || (a.brand_id.is_none() && brand == default_brand);
        a.locale == locale && a.id > after && of_brand
    });
    let page: Vec<&ArticleView> = matching.by_ref().take(size).collect();
    let has_more = matching.next().is_some();
    let path = format!("{base}/api/v2/help_center/{locale}/articles.json");
    let after_cursor = page.last().filter(|_| has_more).map(|a| a.id.to_string());
    let next = after_cursor
        .as_ref()
        .map(|cursor| format!("{path}?page[size]={size}&page[after]={cursor}"));
    let articles: Vec<Value> = page
        .iter()
        .map(|a| HelpCenter::article_json(a, &base, &help_center))
        .collect();
    (
        StatusCode::OK,
        axum::Json(json!({
            "articles": articles,
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": null},
            "links": {"first": format!("{path}?page[size]={size}"), "next": next, "prev": null},
        })),
    )
}

impl crate::world::World {
    pub(crate) fn add_article(
        &mut self,
        brand: Option<u64>,
        title: &str,
        html: &str,
        draft: bool,
        user_segment_id: Option<u64>,
    ) -> u64 {
        let id = self.next_id();
        self.help_center.articles.insert(
            id,
            ArticleView {
                id,
                brand_id: brand,
                title: title.to_owned(),
                body: html.to_owned(),
                draft,
                user_segment_id,
                locale: "en-us".to_owned(),
            },
        );
        id
    }

    /// Gives `brand` a Help Center, or takes it away; false when there is no such brand.
    pub(crate) fn set_help_center(&mut self, brand: u64, on: bool) -> bool {
        match self.brands.get_mut(&brand) {
            Some(brand) => {
                brand.has_help_center = on;
                true
            }
            None => false,
        }
    }

    pub(crate) fn change_article(
        &mut self,
        id: u64,
        change: impl FnOnce(&mut ArticleView),
    ) -> bool {
        match self.help_center.articles.get_mut(&id) {
            Some(article) => {
                change(article);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use crate::{Role, Sandbox};

    struct Account {
        sandbox: Sandbox,
        token: String,
    }

    impl Account {
        async fn new() -> Self {
            let sandbox = Sandbox::start().await;
            sandbox.add_user("Bot", "bot@acme.test", Role::Agent);
            let token = sandbox.add_api_token();
            Self { sandbox, token }
        }

        /// GET `path` on the sandbox, as `host` when given (a brand's zendesk.com host).
        async fn get(&self, path: &str, host: Option<&str>) -> (u16, Value) {
            let mut request = reqwest::Client::new()
                .get(format!("{}{path}", self.sandbox.base_url()))
                .basic_auth("bot@acme.test/token", Some(&self.token));
            if let Some(host) = host {
                request = request.header("Host", host);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }

        /// The titles and `html_url`s of every article `host` lists, following `links.next`
        /// on the sandbox (its origin replaced, as a client keeps to its host).
        async fn articles(&self, host: Option<&str>) -> Vec<(String, String)> {
            let mut found = Vec::new();
            let mut next = Some("/api/v2/help_center/en-us/articles".to_owned());
            while let Some(path) = next.take() {
                let (status, page) = self.get(&path, host).await;
                assert_eq!(status, 200, "{page}");
                for article in page["articles"].as_array().unwrap() {
                    found.push((
                        article["title"].as_str().unwrap().to_owned(),
                        article["html_url"].as_str().unwrap().to_owned(),
                    ));
                }
                next = page["links"]["next"].as_str().map(|link| {
                    let link = url_path(link);
                    assert!(link.starts_with("/api/v2/help_center/"), "{link}");
                    link
                });
            }
            found
        }
    }

    fn url_path(link: &str) -> String {
        let after_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
        after_scheme[after_scheme.find('/').unwrap()..].to_owned()
    }

    #[tokio::test]
    async fn each_brand_host_serves_its_own_help_center() {
        let account = Account::new().await;
        let sandbox = &account.sandbox;
        let acme = sandbox.add_brand("Acme");
        let outlet = sandbox.add_brand("Acme Outlet");
        assert_eq!(sandbox.brand_subdomain(acme).as_deref(), Some("acme"));
        assert_eq!(
            sandbox.brand_subdomain(outlet).as_deref(),
            Some("acme-outlet")
        );
        for i in 0..4 {
            sandbox.add_article(Some(acme), &format!("Acme {i}"), "<p>a</p>", false, None);
            sandbox.add_article(
                Some(outlet),
                &format!("Outlet {i}"),
                "<p>o</p>",
                false,
                None,
            );
        }
        sandbox.add_article(None, "Unbranded", "<p>u</p>", false, None);

        let outlet_articles = account.articles(Some("acme-outlet.zendesk.com")).await;
        let titles: Vec<&str> = outlet_articles.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, ["Outlet 0", "Outlet 1", "Outlet 2", "Outlet 3"]);
        assert!(
            outlet_articles
                .iter()
                .all(|(_, url)| url
                    .starts_with("https://acme-outlet.zendesk.com/hc/en-us/articles/")),
            "{outlet_articles:?}"
        );
        // A brand host's pages link on to that host.
        let (_, first) = account
            .get(
                "/api/v2/help_center/en-us/articles",
                Some("acme-outlet.zendesk.com"),
            )
            .await;
        assert!(
            first["links"]["next"]
                .as_str()
                .unwrap()
                .starts_with("https://acme-outlet.zendesk.com/api/v2/help_center/en-us/articles"),
            "{first}"
        );

        // The default brand's host and the sandbox's own address serve the default brand's.
        let expected = ["Acme 0", "Acme 1", "Acme 2", "Acme 3", "Unbranded"];
        for host in [Some("acme.zendesk.com"), Some("ACME.zendesk.com:443"), None] {
            let articles = account.articles(host).await;
            let titles: Vec<&str> = articles.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(titles, expected, "{host:?}");
            assert!(
                articles
                    .iter()
                    .all(|(_, url)| url.starts_with("https://acme.zendesk.com/hc/")),
                "{articles:?}"
            );
        }

        // A zendesk.com host no brand has, and a brand without a Help Center: 404.
        let (status, _) = account
            .get(
                "/api/v2/help_center/en-us/articles",
                Some("bags.zendesk.com"),
            )
            .await;
        assert_eq!(status, 404);
        assert!(sandbox.set_help_center(outlet, false));
        let (status, _) = account
            .get(
                "/api/v2/help_center/en-us/articles",
                Some("acme-outlet.zendesk.com"),
            )
            .await;
        assert_eq!(status, 404);
        assert!(!sandbox.set_help_center(1, false), "no such brand");
    }

    #[tokio::test]
    async fn a_brand_is_shown_with_zendesks_documented_fields() {
        let account = Account::new().await;
        let acme = account.sandbox.add_brand("Acme");
        let outlet = account.sandbox.add_brand("Acme Outlet");
        account.sandbox.set_help_center(outlet, false);

        let (status, shown) = account.get(&format!("/api/v2/brands/{outlet}"), None).await;
        assert_eq!(status, 200, "{shown}");
        let brand = shown["brand"].as_object().expect("a brand object");
        // The Brands API's JSON format: every property it documents, and no other.
        let documented: BTreeSet<&str> = [
            "active",
            "brand_url",
            "created_at",
            "default",
            "has_help_center",
            "help_center_state",
            "host_mapping",
            "id",
            "is_deleted",
            "logo",
            "name",
            "signature_template",
            "subdomain",
            "ticket_form_ids",
            "updated_at",
            "url",
        ]
        .into();
        let served: BTreeSet<&str> = brand.keys().map(String::as_str).collect();
        assert_eq!(served, documented);
        assert_eq!(brand["id"], outlet);
        assert_eq!(brand["name"], "Acme Outlet");
        assert_eq!(brand["subdomain"], "acme-outlet");
        assert_eq!(brand["brand_url"], "https://acme-outlet.zendesk.com");
        assert_eq!(brand["has_help_center"], false);
        assert_eq!(brand["help_center_state"], "disabled");
        assert_eq!(brand["default"], false);
        for flag in ["active", "is_deleted"] {
            assert!(brand[flag].is_boolean(), "{flag}");
        }
        for text in ["created_at", "updated_at", "url", "signature_template"] {
            assert!(brand[text].is_string(), "{text}");
        }
        assert!(brand["ticket_form_ids"].is_array());

        let (_, shown) = account
            .get(&format!("/api/v2/brands/{acme}.json"), None)
            .await;
        assert_eq!(shown["brand"]["default"], true);
        assert_eq!(shown["brand"]["help_center_state"], "enabled");
        let (status, _) = account.get("/api/v2/brands/999999", None).await;
        assert_eq!(status, 404);
    }
}
