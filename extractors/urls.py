"""URL canonicalization: one spelling per article, whatever link or campaign it came through."""
from __future__ import annotations

import logging
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

LOGGER = logging.getLogger(__name__)

# Parameters that identify a campaign, a click or a referrer, never the content.
TRACKING_PARAMETERS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "yclid", "twclid", "ttclid", "li_fat_id", "_ga", "_gl", "_hsenc", "_hsmi",
    "mkt_tok", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid",
    "wt.mc_id", "wt_mc", "ref", "ref_src", "ref_url", "cmpid", "ocid",
    "ncid", "sr_share", "smid", "soc_src", "soc_trk", "__twitter_impression", "spm",
    "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
    "at_ptr_name", "at_link_id", "at_link_type", "at_link_origin", "at_format", "at_bbc_team",
    "at_topic", "at_profile_id", "at_source", "at_content", "xtor", "guccounter",
    "guce_referrer", "guce_referrer_sig", "fb_action_ids", "fb_action_types",
    "fb_ref", "fb_source", "action_object_map", "action_type_map", "action_ref_map",
})
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hmb_", "__hs", "ga_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_parameter(name: str) -> bool:
    """True for query parameters that only track clicks or campaigns."""
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMETERS or key.startswith(TRACKING_PREFIXES)


def _without_tracking(query: str) -> str:
    # Filter the raw pairs so the remaining ones keep their exact original encoding and order.
    kept = [pair for pair in query.split("&") if pair and not is_tracking_parameter(pair.split("=", 1)[0])]
    return "&".join(kept)


def canonical_url(url: str, base: str | None = None) -> str:
    """The one spelling of a URL: absolute, lowercase scheme/host, no default port, fragment or tracking."""
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: leave the netloc alone
        port, host = None, parts.netloc.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _without_tracking(parts.query), ""))


def is_http_url(url: str) -> bool:
    """True for an absolute http:// or https:// URL with a host."""
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        return False
