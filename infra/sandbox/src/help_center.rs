//! The Help Center: articles per brand (published or draft, public or restricted to a user
//! segment), listed by `GET /api/v2/help_center/{locale}/articles` with cursor pagination.
//!
//! The account's host serves the Help Center of its default brand (the first brand added);
//! an article added without a brand belongs to it too. Pages hold at most
//! [`HelpCenter::page_size`] articles (3 unless changed), far fewer than Zendesk's 100, so
//! every client crosses pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
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
    pub fn article_json(article: &ArticleView, base_url: &str) -> Value {
        let locale = &article.locale;
        json!({
            "id": article.id,
            "url": format!("{base_url}/api/v2/help_center/{locale}/articles/{}.json", article.id),
            "html_url": format!("{base_url}/hc/{locale}/articles/{}-{}", article.id, slug(&article.title)),
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

/// `GET /api/v2/help_center/{locale}/articles`: the default brand's articles in `locale`
/// (drafts and restricted ones included, as an agent sees them), oldest first, by cursor.
pub(crate) async fn list_articles(
    State(shared): State<Arc<Shared>>,
    Path(locale): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> (StatusCode, axum::Json<Value>) {
    let world = shared.world();
    let locale = locale.trim_end_matches(".json").to_lowercase();
    let default_brand = world.brands.keys().next().copied();
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
        a.locale == locale && a.id > after && (a.brand_id.is_none() || a.brand_id == default_brand)
    });
    let page: Vec<&ArticleView> = matching.by_ref().take(size).collect();
    let has_more = matching.next().is_some();
    let base = &world.base_url;
    let path = format!("{base}/api/v2/help_center/{locale}/articles.json");
    let after_cursor = page.last().filter(|_| has_more).map(|a| a.id.to_string());
    let next = after_cursor
        .as_ref()
        .map(|cursor| format!("{path}?page[size]={size}&page[after]={cursor}"));
    let articles: Vec<Value> = page
        .iter()
        .map(|a| HelpCenter::article_json(a, base))
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
