//! Help Center sync: a store's knowledge index rebuilt whole from its brand's published,
//! public Help Center articles and its markdown knowledge file, then saved for the workers.
//! Each brand has its own Help Center on its own host: a store with a brand reads its
//! brand's, one without reads the account's (the default brand's).
//! An article unpublished, restricted or deleted since the last sync is simply not in the new
//! index. `deskmate knowledge sync` runs it; a scheduled function may call it the same way.

use crate::domain::{AgentSettings, StoreConfig};
use crate::knowledge_index::{KnowledgeIndex, article_passages, markdown_passages};
use crate::state::{KnowledgeIndexes, StateError};
use crate::zendesk::{SupportClient, ZendeskError};

/// The Help Center locale a sync reads unless told otherwise.
pub const DEFAULT_LOCALE: &str = "en-us";

/// What a sync indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The Help Center read (`{subdomain}.zendesk.com`), or `None` when the store's brand has
    /// none its customers can open: then only the markdown file is indexed.
    pub help_center: Option<String>,
    /// Help Center articles indexed (published and visible to everyone).
    pub articles: usize,
    /// Sections of the markdown knowledge file indexed.
    pub markdown_sections: usize,
    /// Passages in the index (article sections and markdown sections).
    pub passages: usize,
    /// The saved index's version.
    pub version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("reading the Help Center: {0}")]
    Zendesk(#[from] ZendeskError),
    #[error("reading the store's brand {brand_id}: {source}")]
    Brand { brand_id: u64, source: ZendeskError },
    #[error("saving the knowledge index: {0}")]
    State(#[from] StateError),
}

/// Syncs the store's knowledge from its Help Center in [`DEFAULT_LOCALE`].
pub async fn sync_store_knowledge(
    store: &StoreConfig,
    support: &SupportClient,
    indexes: &dyn KnowledgeIndexes,
) -> Result<SyncReport, SyncError> {
    sync_store_knowledge_in(store, support, indexes, DEFAULT_LOCALE).await
}

/// The store's Help Center host and a client on it: its brand's own, or the account's for a
/// store without a brand; `None` when the brand has no Help Center its customers can open.
async fn help_center_of(
    store: &StoreConfig,
    support: &SupportClient,
) -> Result<Option<(String, SupportClient)>, SyncError> {
    let Some(brand_id) = store.brand_id else {
        return Ok(Some((
            format!("{}.zendesk.com", store.subdomain),
            support.clone(),
        )));
    };
    let brand = support
        .brand(brand_id)
        .await
        .map_err(|source| SyncError::Brand { brand_id, source })?;
    if !brand.has_live_help_center() {
        tracing::info!(
            store = %store.id,
            brand_id,
            help_center_state = brand.help_center_state.as_deref().unwrap_or("none"),
            "the store's brand has no Help Center: only the markdown file is indexed"
        );
        return Ok(None);
    }
    let client = support
        .on_brand_host(&brand.subdomain)
        .map_err(|source| SyncError::Brand { brand_id, source })?;
    Ok(Some((
        format!("{}.zendesk.com", brand.subdomain.to_ascii_lowercase()),
        client,
    )))
}

/// Builds the store's index from its Help Center articles in `locale` (its brand's Help
/// Center, on the brand's host) and its markdown file, and saves it whole in place of the
/// last one.
pub async fn sync_store_knowledge_in(
    store: &StoreConfig,
    support: &SupportClient,
    indexes: &dyn KnowledgeIndexes,
    locale: &str,
) -> Result<SyncReport, SyncError> {
    let help_center = help_center_of(store, support).await?;
    let articles = match &help_center {
        Some((_, client)) => client.help_center_articles(locale).await?,
        None => Vec::new(),
    };
    let mut passages = Vec::new();
    for article in &articles {
        let topic = article
            .section_id
            .map_or_else(|| format!("article-{}", article.id), |id| id.to_string());
        passages.extend(article_passages(
            &article.title,
            article.body.as_deref().unwrap_or_default(),
            &article.html_url,
            &topic,
        ));
    }
    let markdown = match &store.agent {
        AgentSettings::Knowledge { knowledge_markdown } => markdown_passages(knowledge_markdown),
        _ => Vec::new(),
    };
    let markdown_sections = markdown.len();
    passages.extend(markdown);
    let index = KnowledgeIndex::build(passages);
    let version = indexes.save_index(&store.id, &index).await?;
    let report = SyncReport {
        help_center: help_center.map(|(host, _)| host),
        articles: articles.len(),
        markdown_sections,
        passages: index.passages().len(),
        version,
    };
    tracing::info!(
        store = %store.id,
        help_center = report.help_center.as_deref().unwrap_or("none"),
        articles = report.articles,
        passages = report.passages,
        version,
        "knowledge synced"
    );
    Ok(report)
}
