//! Agent markdown → HTML that is safe to post as a Zendesk comment.

use pulldown_cmark::{Options, Parser, html};

/// Renders markdown and strips anything that is not plain formatting (scripts, styles,
/// event handlers, `javascript:` links). Links open with `rel="noopener noreferrer"`.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    );
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_formatting_and_drops_scripts() {
        let html = markdown_to_safe_html(
            "**Bold** and [a link](https://example.com)\n\n- one\n- two\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<strong>Bold</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com" rel="noopener noreferrer">a link</a>"#),
            "{html}"
        );
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }
}
