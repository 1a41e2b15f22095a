//! How discovery fetches what it finds: the class that orders the manifest, the destination
//! and CORS mode a `Link` must repeat, from the attributes the page wrote.

use crate::push::manifest::Destination;

pub(super) const ANONYMOUS: &str = "anonymous";

/// The CORS mode a `crossorigin` attribute asks for: empty and unknown values mean
/// anonymous.
pub(super) fn cors_mode(attr: Option<&str>) -> Option<String> {
    let mode = if attr?.trim().eq_ignore_ascii_case("use-credentials") {
        "use-credentials"
    } else {
        ANONYMOUS
    };
    Some(mode.to_string())
}

/// `type/subtype` made of token characters only, so it can be quoted in a Link header
/// as is (no quotes, backslashes, control characters or parameters).
pub(super) fn is_plain_mime_type(value: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    value
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

/// Output order, most urgent first; within a class, discovery order is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Class {
    Style,
    Font,
    BlockingScript,
    /// Module scripts, modulepreloads and deferred classic scripts.
    Module,
    AsyncScript,
    Image,
    Other,
}

/// How an asset will be fetched and where it goes in the order.
pub(super) struct How {
    pub(super) class: Class,
    pub(super) dest: Destination,
    pub(super) module: bool,
    pub(super) mime_type: Option<String>,
    pub(super) crossorigin: Option<String>,
}

impl How {
    pub(super) fn script(class: Class, module: bool, crossorigin: Option<String>) -> How {
        How {
            class,
            dest: Destination::Script,
            module,
            mime_type: None,
            crossorigin,
        }
    }

    pub(super) fn image(crossorigin: Option<String>) -> How {
        How {
            class: Class::Image,
            dest: Destination::Image,
            module: false,
            mime_type: None,
            crossorigin,
        }
    }

    pub(super) fn font() -> How {
        How {
            class: Class::Font,
            dest: Destination::Font,
            module: false,
            mime_type: None,
            // Fonts are always fetched in CORS mode; a preload must match.
            crossorigin: Some(ANONYMOUS.into()),
        }
    }
}
