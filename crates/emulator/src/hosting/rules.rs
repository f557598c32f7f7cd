//! `_headers` and `_redirects` files, in the format Cloudflare Pages and Netlify share
//! (`specs/cloudflare.md §3.8`, `specs/netlify.md §4`). Only what static sites commonly use:
//! exact paths and a trailing `*` splat.

/// One `_redirects` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Source pattern (`/old` or `/blog/*`).
    pub from: String,
    /// Target (`/new`, `/posts/:splat`, or a full URL).
    pub to: String,
    /// 301, 302, 200 (rewrite), 404...
    pub status: u16,
}

/// One `_headers` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// Path pattern (`/*`, `/a.html`, `/assets/*`).
    pub pattern: String,
    /// Headers to add.
    pub headers: Vec<(String, String)>,
}

/// Parses a `_redirects` file; malformed lines are skipped as the platforms do.
pub fn parse_redirects(text: &str) -> Vec<Redirect> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let from = parts.next()?.to_string();
            let to = parts.next()?.to_string();
            let status = parts
                .next()
                .and_then(|s| s.trim_end_matches('!').parse().ok())
                .unwrap_or(301);
            Some(Redirect { from, to, status })
        })
        .collect()
}

/// Parses a `_headers` file.
pub fn parse_headers(text: &str) -> Vec<HeaderRule> {
    let mut rules: Vec<HeaderRule> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            rules.push(HeaderRule {
                pattern: line.trim().to_string(),
                headers: Vec::new(),
            });
        } else if let (Some(rule), Some((k, v))) = (rules.last_mut(), line.trim().split_once(':')) {
            rule.headers
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    rules
}

/// Matches `path` against a pattern with an optional trailing `*`; returns the splat.
pub fn matches<'a>(pattern: &str, path: &'a str) -> Option<&'a str> {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.strip_prefix(prefix),
        None => (pattern == path || pattern.trim_end_matches('/') == path.trim_end_matches('/'))
            .then_some(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        assert_eq!(
            parse_redirects("/old /new 301\n# c\n/blog/* /posts/:splat 302\n"),
            vec![
                Redirect {
                    from: "/old".into(),
                    to: "/new".into(),
                    status: 301
                },
                Redirect {
                    from: "/blog/*".into(),
                    to: "/posts/:splat".into(),
                    status: 302
                },
            ]
        );
        let h = parse_headers("/* \n  X-Test: 1\n");
        assert_eq!(h[0].pattern, "/*");
        assert_eq!(h[0].headers, vec![("X-Test".into(), "1".into())]);
        assert_eq!(matches("/blog/*", "/blog/a/b"), Some("a/b"));
        assert_eq!(matches("/old", "/old/"), Some(""));
        assert_eq!(matches("/old", "/older"), None);
    }
}
