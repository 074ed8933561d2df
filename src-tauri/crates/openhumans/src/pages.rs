//! Following the `next` links of Open Humans' paginated answers (docs/providers/open-humans.md,
//! "Pagination") without trusting them: only on the server the client was configured for, so a
//! token is never sent elsewhere, never the same link twice, and at most [`MAX_PAGES`] pages, so
//! a server whose links go round in circles or never end cannot keep a listing running forever.

use std::collections::HashSet;

use datalinks_core::{Error, Result};
use url::{Origin, Url};

/// Far more than any real listing needs (100 results a page: ten million entries).
pub const MAX_PAGES: usize = 100_000;

pub struct NextLinks {
    origin: Origin,
    followed: HashSet<Url>,
}

impl NextLinks {
    /// For a listing that started at `first`.
    pub fn new(first: &Url) -> Self {
        NextLinks {
            origin: first.origin(),
            followed: HashSet::from([first.clone()]),
        }
    }

    /// The page to ask for after one whose `next` was `next`; `None` at the end.
    pub fn follow(&mut self, next: Option<&str>) -> Result<Option<Url>> {
        let Some(link) = next else {
            return Ok(None);
        };
        let url = Url::parse(link)
            .map_err(|_| Error::provider("Open Humans sent an invalid `next` link."))?;
        if url.origin() != self.origin {
            return Err(Error::provider(format!(
                "Open Humans sent a `next` link to another server ({}); not following it.",
                url.origin().ascii_serialization()
            )));
        }
        if self.followed.len() >= MAX_PAGES {
            return Err(Error::provider(format!(
                "Open Humans sent more than {MAX_PAGES} pages; stopped listing."
            )));
        }
        if !self.followed.insert(url.clone()) {
            return Err(Error::provider(
                "Open Humans sent a `next` link to a page already read; stopped listing.",
            ));
        }
        Ok(Some(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> Url {
        Url::parse("https://www.openhumans.org/api/direct-sharing/project/members/").unwrap()
    }

    #[test]
    fn follows_new_links_on_the_same_server_to_the_end() {
        let mut links = NextLinks::new(&first());
        let second = "https://www.openhumans.org/api/direct-sharing/project/members/?offset=100";
        assert_eq!(
            links.follow(Some(second)).unwrap().unwrap().as_str(),
            second
        );
        assert_eq!(links.follow(None).unwrap(), None);
    }

    #[test]
    fn a_link_back_to_a_page_already_read_ends_the_listing_with_an_error() {
        let mut links = NextLinks::new(&first());
        let err = links.follow(Some(first().as_str())).unwrap_err();
        assert!(err.message.contains("already read"), "{err}");
        let mut links = NextLinks::new(&first());
        let a = "https://www.openhumans.org/api/direct-sharing/project/members/?offset=1";
        let b = "https://www.openhumans.org/api/direct-sharing/project/members/?offset=2";
        links.follow(Some(a)).unwrap();
        links.follow(Some(b)).unwrap();
        assert!(
            links.follow(Some(a)).is_err(),
            "a longer circle is caught too"
        );
    }

    #[test]
    fn another_server_or_garbage_is_refused() {
        let mut links = NextLinks::new(&first());
        let err = links
            .follow(Some("https://evil.example/api/?access_token=x"))
            .unwrap_err();
        assert!(err.message.contains("https://evil.example"), "{err}");
        assert!(!err.message.contains("access_token"), "{err}");
        assert!(links.follow(Some("not a url")).is_err());
        assert!(
            links
                .follow(Some("http://www.openhumans.org/api/"))
                .is_err(),
            "another scheme"
        );
    }

    #[test]
    fn an_endless_listing_stops_at_the_page_limit() {
        let mut links = NextLinks::new(&first());
        let mut pages = 1;
        let err = loop {
            let next = format!("{}?offset={pages}", first());
            match links.follow(Some(&next)) {
                Ok(_) => pages += 1,
                Err(err) => break err,
            }
        };
        assert_eq!(pages, MAX_PAGES);
        assert!(err.message.contains("more than"), "{err}");
    }
}
