#!/usr/bin/env python3
"""An external Qualys VMDR connector in Python 3, standard library only.

It is the example to copy when plugging your own connector into the conformance suite:
`qharness conform --connector "python3 examples/python-connector/connector.py"` runs it once per
scenario against the simulated Qualys server and judges its records, exit code and requests.

The contract, in environment variables:
  QUALYS_PLATFORM_URL   API server base URL, e.g. https://127.0.0.1:PORT. Credentials go there
                        and nowhere else: redirects are refused, and the next-page URL Qualys
                        returns is never requested (its id_min is re-issued against this URL).
  QUALYS_USERNAME, QUALYS_PASSWORD   the API user; the password is never printed.
  QHARNESS_STREAM       vmdr-vulnerabilities (Host List Detection joined with the KnowledgeBase)
                        or vmdr-assets (Host List).
  QHARNESS_SETTINGS     optional JSON file with the config-file keys of the qharness README.
  QHARNESS_CA_CERT      optional PEM CA to trust (the simulator's self-signed certificate).
  QHARNESS_OUTPUT       NDJSON records go to a temporary file beside it, renamed into place only
                        when the stream completed; stdout when unset.

Exit codes, as qharness: 0 success; 2 configuration problem (found before any request); 3
credential, account or permission problem (never retried); 4 transient failure (rate limit, 5xx,
CODE 999, cut bodies) still failing after bounded retries; 1 anything else (malformed XML, a
pagination cursor that does not advance, a redirect).

A run reads top to bottom: settings -> request (form POST, Basic auth, retries) -> paging by
id_min -> parsing (iterparse, one host in memory at a time) -> KnowledgeBase join -> output.
Records are the README's "Record schema", field for field and in the built-in connector's order.

Test-only switches, deliberately broken variants the test suite uses to show that the
conformance suite catches them (never use them for real data):
  --break ignore-pagination   stop after the first page as if it carried no truncation WARNING
  --break retry-2003          treat CODE 2003 (registration not completed) as transient
"""
import argparse
import base64
import http.client
import json
import os
import re
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from xml.parsers import expat

PATHS = {"vmdr-vulnerabilities": "/api/2.0/fo/asset/host/vm/detection/",
         "vmdr-assets": "/api/2.0/fo/asset/host/"}
ROOTS = {"vmdr-vulnerabilities": "HOST_LIST_VM_DETECTION_OUTPUT", "vmdr-assets": "HOST_LIST_OUTPUT"}
KB_PATH = "/api/2.0/fo/knowledge_base/vuln/"
STATUSES = {"new": "New", "active": "Active", "re-opened": "Re-Opened", "reopened": "Re-Opened",
            "fixed": "Fixed"}
IMPLEMENTED = {"status", "tag_include", "tag_exclude", "tag_include_selector",
               "tag_exclude_selector", "arf_kernel_filter", "truncation_limit", "include_ignored",
               "include_disabled", "kb_batch_size", "knowledge_base", "max_attempts",
               "max_wait_secs", "backoff_initial_ms", "connect_timeout_secs", "read_timeout_secs",
               # given by the environment in this contract; accepted and left to it
               "stream", "platform_url", "username", "password_file", "ca_cert"}
TIMING = re.compile(r"(_secs|_ms|_timeout|_attempts)$")
MAX_ERROR_BODY = 1024 * 1024
# expat's ways of saying "the input stopped early": a cut body, retried like the built-in does.
CUT = {expat.errors.codes[m] for m in (expat.errors.XML_ERROR_NO_ELEMENTS,
       expat.errors.XML_ERROR_UNCLOSED_TOKEN, expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
       expat.errors.XML_ERROR_PARTIAL_CHAR)}
BAD_LOGIN = ("Qualys gives this same answer for three causes; check each: 1. the username and "
             "password: log in to the Qualys console with them; 2. the user has API access "
             "(Users > edit the user > User Role > API); 3. the platform URL is the API server "
             "of the platform the account lives on")
ACCOUNT = {
    2000: ("Qualys rejected the login (Bad Login/Password)", BAD_LOGIN),
    2001: ("the Qualys account has expired", "ask your Qualys account manager to renew the "
           "subscription or extend the account"),
    2002: ("the Qualys account is inactive", "ask a Qualys Manager to activate the user"),
    2003: ("the Qualys user has not completed registration (account not activated)",
           "complete the user activation process: log in to the Qualys console with the new "
           "user's credentials, change the initial password and accept the terms; API requests "
           "are served only after that"),
    2011: ("the account requires SecureID, which blocks API access",
           "use an API user without SecureID, or ask a Qualys Manager to disable it"),
    2012: ("the subscription is not licensed for this API or module",
           "ask your Qualys account manager to enable the module, then give the user access"),
}
BREAKS = set()  # the test-only --break switches in force


class Failure(Exception):
    """What went wrong and what to do, the exit code it means and whether a retry may help:
    retry is None (never), "backoff", or the seconds Qualys asked to wait."""

    def __init__(self, exit_code, message, retry=None, code=None):
        super().__init__(message)
        self.exit_code, self.retry, self.code = exit_code, retry, code


def config_error(setting, problem, fix):
    return Failure(2, f"invalid configuration: {setting}: {problem}\n  what to do: {fix}")


def whole(value):
    """A non-negative integer or None: header, code and cursor values are checked, not trusted."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"[0-9]+", value) else None


# --- settings -------------------------------------------------------------------------------

def read_settings(stream, path):
    """Checks the settings file the way qharness does, before any request is sent."""
    raw = {}
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise config_error("QHARNESS_SETTINGS", f"cannot read {path}: {e}", "fix the file")
    if not isinstance(raw, dict):
        raise config_error("QHARNESS_SETTINGS", f"{path} is not a JSON object", "fix the file")
    unknown = sorted(k for k in raw if k not in IMPLEMENTED and not TIMING.search(k))
    if unknown:
        raise config_error(", ".join(unknown), "not implemented by this example, and ignoring it "
                           "would change the records", "remove it or use qharness fetch")

    def get(key, kind, default, low=0, high=None):
        value = raw.get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise config_error(key, f"{value!r} is not a {kind.__name__}", "fix its type")
        if kind is int and (value < low or (high is not None and value > high)):
            raise config_error(key, f"{value} is out of range", f"use {low} to {high or 'more'}")
        return value

    def tag_list(key):
        value = get(key, str, "").strip()
        names = [t.strip() for t in value.split(",")] if value else []
        if "" in names:
            raise config_error(key, f"{value!r} is not a valid tag list", "separate non-empty "
                               "tag names with commas, e.g. \"Prod,PCI & Card\"")
        return names

    def selector(key):
        value = get(key, str, "any").strip().lower()
        if value not in ("any", "all"):
            raise config_error(key, f"{raw[key]!r} is not a valid tag selector; valid values are "
                               "any, all", "use any or all")
        return value

    settings = {"include": tag_list("tag_include"), "exclude": tag_list("tag_exclude"),
                "include_selector": selector("tag_include_selector"),
                "exclude_selector": selector("tag_exclude_selector")}
    rule = ("the connector documentation says the asset tag set to include and the asset tag "
            "set to exclude each require the other")
    for have, missing in (("include", "exclude"), ("exclude", "include")):
        if settings[have] and not settings[missing]:
            raise config_error(f"tag_{missing}", f"tag_{have} is set but tag_{missing} is "
                               f"missing; {rule}", f"set tag_{missing} too, or remove tag_{have}")
    status = raw.get("status", "New,Active,Re-Opened,Fixed")  # "New,Active" or ["New", "Active"]
    status = ",".join(map(str, status)) if isinstance(status, list) else str(status)
    wanted = set()
    for item in status.split(","):
        if item.strip().lower() not in STATUSES:
            raise config_error("status", f"{item!r} is not a valid vulnerability status; valid "
                               "values are New, Active, Re-Opened, Fixed", "use a subset of them")
        wanted.add(STATUSES[item.strip().lower()])
    settings["status"] = ",".join(v for v in ("New", "Active", "Re-Opened", "Fixed") if v in wanted)
    for key in ("arf_kernel_filter", "include_ignored", "include_disabled", "status"):
        if key in raw and stream != "vmdr-vulnerabilities":
            raise config_error(key, "only applies to the vmdr-vulnerabilities stream",
                               f"remove {key} or use the vmdr-vulnerabilities stream")
    settings.update(
        arf=get("arf_kernel_filter", int, 0, 0, 3) if "arf_kernel_filter" in raw else None,
        truncation_limit=get("truncation_limit", int, 1000),
        include_ignored=get("include_ignored", bool, False),
        include_disabled=get("include_disabled", bool, False),
        kb_batch_size=get("kb_batch_size", int, 300, 1, 1000),
        knowledge_base=get("knowledge_base", bool, True),
        max_attempts=get("max_attempts", int, 5, 1), max_wait=get("max_wait_secs", int, 300),
        backoff=get("backoff_initial_ms", int, 1000) / 1000,
        # urllib has one socket timeout, so it bounds connecting too (connect_timeout_secs is
        # accepted and left unused).
        timeout=get("read_timeout_secs", int, 300, 1))
    return settings


def check_platform_url(url):
    """A URL with a path, or a web UI / API gateway host, is a mistake users make; say so."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise config_error("QUALYS_PLATFORM_URL", f"{url!r} is not an http(s) URL with a host",
                           "give the API server URL, e.g. https://qualysapi.qualys.com")
    if parts.query or "/api/" in parts.path or "/fo/" in parts.path:
        raise config_error("QUALYS_PLATFORM_URL", f"{url!r} points at an endpoint, not at the "
                           "platform", "give only the server part; the connector adds the paths")
    api = re.sub(r"^gateway\.qg1\.apps\.qualys\.(com|eu)$", r"qualysapi.qualys.\1", host)
    api = re.sub(r"^(qualysguard|gateway)\.", "qualysapi.", api)
    if api != host:
        what = "the Qualys web UI" if host.startswith("qualysguard.") else "the API gateway"
        raise config_error("QUALYS_PLATFORM_URL", f"{url} is {what}, but VMDR streams call the "
                           "API server", f"use https://{api}")
    return url.rstrip("/")


# --- request --------------------------------------------------------------------------------

class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Credentials go to the configured origin only, so a 3xx is reported, never followed."""

    def redirect_request(self, *args, **kwargs):
        return None


class Qualys:
    """HTTP to one platform: form POSTs with Basic auth, bounded retries, rate-limit waits."""

    def __init__(self, base, username, password, settings, ca_cert):
        self.base, self.settings = base, settings
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": "Basic " + token, "X-Requested-With": "qharness-python",
                        "Content-Type": "application/x-www-form-urlencoded",
                        "User-Agent": "qharness-python-connector/1.0"}
        context = ssl.create_default_context()
        try:
            if ca_cert:
                context.load_verify_locations(ca_cert)
        except (OSError, ValueError) as e:
            raise config_error("QHARNESS_CA_CERT", f"{ca_cert}: {e}", "give a PEM CA file")
        handlers = [urllib.request.HTTPSHandler(context=context), RefuseRedirects()]
        if urllib.parse.urlsplit(base).hostname in ("127.0.0.1", "localhost", "::1"):
            handlers.append(urllib.request.ProxyHandler({}))  # a local simulator, never proxied
        self.opener = urllib.request.build_opener(*handlers)
        self.waited, self.blocked_until, self.requests, self.retries = 0.0, 0.0, 0, 0

    def fetch(self, path, params, parse, page=None):
        """POSTs until `parse` returns or the retry budget (shared by the run) is spent; a
        retried page is parsed again from scratch."""
        where = f"{path} (page {page})" if page else path
        started, failures = time.monotonic(), 0
        while True:
            self.wait_for_rate_window()
            try:
                return self.attempt(path, params, parse, where)
            except Failure as f:
                if f.retry is None:
                    raise
                delay = f.retry
                if delay == "backoff":  # doubling from backoff_initial_ms, at most 30 s
                    delay = min(self.settings["backoff"] * 2 ** failures, 30)
                failures += 1
                limits = self.settings["max_attempts"], self.settings["max_wait"]
                if failures >= limits[0] or self.waited + delay > limits[1]:
                    advice = ("the subscription's API rate limit is used up; run again after "
                              "the window passes, or raise max_wait_secs" if f.code == 1965 else
                              "run again later; if it persists, check the network path and any "
                              "proxy, or contact Qualys support with the time of the failure")
                    raise Failure(4, f"still failing after {failures} attempt"
                                  f"{'s' * (failures > 1)} over {time.monotonic() - started:.0f}s:"
                                  f" {f}\n  what to do: {advice} (limits: max_attempts = "
                                  f"{limits[0]}, max_wait_secs = {limits[1]})", code=f.code)
                self.waited += delay
                self.retries += 1
                print(f"warning: {f}; retrying in {delay:g}s", file=sys.stderr)
                time.sleep(delay)

    def wait_for_rate_window(self):
        wait = self.blocked_until - time.monotonic()
        if wait > 0 and self.waited + wait <= self.settings["max_wait"]:
            self.waited += wait  # else: let Qualys answer 1965 and the retry budget report it
            time.sleep(wait)
        self.blocked_until = 0.0

    def attempt(self, path, params, parse, where):
        request = urllib.request.Request(self.base + path, method="POST", headers=self.headers,
                                         data=urllib.parse.urlencode(params).encode())
        self.requests += 1
        try:
            response = self.opener.open(request, timeout=self.settings["timeout"])
        except urllib.error.HTTPError as e:
            self.note_rate_headers(e.headers)
            try:
                body = e.read(MAX_ERROR_BODY)
            except (OSError, http.client.HTTPException):
                body = b""
            raise classify(e.code, e.headers, body, where) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise Failure(1, f"{where}: the server's TLS certificate is not trusted "
                              f"({reason.verify_message})\n  what to do: set QHARNESS_CA_CERT to "
                              "the PEM of the CA that signed it") from None
            raise Failure(4, f"{where}: sending the request failed: {reason}", "backoff") from None
        with response:
            self.note_rate_headers(response.headers)
            if "html" in (response.headers.get("Content-Type") or "").lower():
                body = response.read(MAX_ERROR_BODY)
                raise classify(response.status, response.headers, body, where)
            try:
                return parse(Body(response), where)
            except (OSError, http.client.HTTPException) as e:
                raise Failure(4, f"{where}: the connection failed while the body was being "
                              f"read: {e!r}", "backoff") from None

    def note_rate_headers(self, headers):
        """X-RateLimit-Remaining 0 with a ToWait means the next call would be refused: wait."""
        to_wait = whole(headers.get("X-RateLimit-ToWait-Sec"))
        if whole(headers.get("X-RateLimit-Remaining")) == 0 and to_wait:
            self.blocked_until = time.monotonic() + to_wait


def classify(status, headers, body, where):
    """A response that is not the expected document, as a Failure: Qualys's CODE first, then
    the HTTP status, the way qharness reads Qualys's inconsistent error signalling."""
    head = body[:512].lstrip().lower()
    html = head.startswith((b"<!doctype html", b"<html"))
    if html or "html" in (headers.get("Content-Type") or "").lower():
        title = re.search(rb"<title>(.*?)</title>", body, re.I | re.S)
        title = title.group(1).decode("utf-8", "replace").strip() if title else ""
        said = f"{where}, HTTP {status}: expected Qualys XML, got an HTML page \"{title}\""
        if 300 <= status < 400:
            return Failure(1, f"{said} redirecting to {headers.get('Location')}\n  what to do: "
                           "this connector does not follow redirects because credentials may only "
                           "go to the configured platform URL; check that it is the API server "
                           "base URL without a path")
        if status >= 500:
            return Failure(4, f"{said} (a proxy or the Qualys front end failed)", "backoff")
        return Failure(1, f"{said}\n  what to do: check the platform URL and any proxy")
    try:
        root = ET.fromstring(Body.clean(body)[0])
    except ET.ParseError:
        root = None
    if root is not None and root.tag in ("SIMPLE_RETURN", "GENERIC_RETURN"):
        return from_envelope(root, status, headers, where)
    return from_message(status, headers, None, "no Qualys message in the body", {}, False, where)


def from_envelope(root, status, headers, where):
    message = (root.findtext("RESPONSE/TEXT") or root.findtext("RETURN") or "").strip()
    items = {(i.findtext("KEY") or "").strip().upper(): i.findtext("VALUE")
             for i in root.iterfind("RESPONSE/ITEM_LIST/ITEM")}
    return from_message(status, headers, whole(root.findtext("RESPONSE/CODE")), message, items,
                        root.tag == "GENERIC_RETURN", where)


def from_message(status, headers, code, message, items, generic, where):
    if code is None and (generic or status >= 500):
        code = 999  # Qualys's internal-error code, as the built-in reports it
    said = f"{where}, HTTP {status}: Qualys said: " + (f"CODE {code}: " if code else "") + message
    if code == 2003 and "retry-2003" in BREAKS:
        return Failure(4, said, "backoff", code)  # the deliberately broken variant
    if code in ACCOUNT:
        summary, advice = ACCOUNT[code]
        return Failure(3, f"{summary}; {said}\n  what to do: {advice}", code=code)
    if code == 1965:  # wait as long as Qualys asks: the header, else the body's SECONDS_TO_WAIT
        wait = whole(headers.get("X-RateLimit-ToWait-Sec")) or whole(items.get("SECONDS_TO_WAIT"))
        return Failure(4, f"API rate limit reached; {said}", wait or "backoff", code)
    if code == 1960:
        return Failure(4, f"API concurrency limit reached; {said}", "backoff", code)
    if code in (999, 1999) or generic or status >= 500:
        return Failure(4, f"Qualys server error; {said}", "backoff", code)
    if status == 401:
        return Failure(3, f"Qualys rejected the login; {said}\n  what to do: {BAD_LOGIN}",
                       code=code)
    if status == 403:
        return Failure(3, f"the Qualys user lacks the \"Manage VM module\" permission; {said}\n"
                       "  what to do: ask a Qualys Manager to give the user that permission "
                       "(Users > edit the user > Permissions), together with API access", code=code)
    if status == 429:
        wait = whole(headers.get("Retry-After")) or whole(headers.get("X-RateLimit-ToWait-Sec"))
        return Failure(4, f"rate limited; {said}", wait or "backoff", code)
    return Failure(1, f"Qualys rejected the request; {said}\n  what to do: check that setting's "
                   "value; if this connector built it, report it as a bug", code=code)


# --- parsing --------------------------------------------------------------------------------

class Body:
    """The response as iterparse reads it. Characters XML 1.0 forbids are replaced by U+FFFD and
    counted, as the built-in connector does: a stray control character in RESULTS costs one
    character, not the page."""
    FORBIDDEN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")

    def __init__(self, raw):
        self.raw, self.replaced = raw, 0

    @classmethod
    def clean(cls, data):
        return cls.FORBIDDEN.subn("\ufffd".encode(), data)

    def read(self, size=-1):
        data, replaced = self.clean(self.raw.read(size))
        self.replaced += replaced
        return data


class Document:
    """Streams one response: iterating yields each element at `record_path` (e.g.
    RESPONSE/HOST_LIST/HOST) once complete, then detaches it, so memory holds one record, not
    the response. Afterwards `root` holds what is left (DATETIME, WARNING). An error envelope
    (SIMPLE_RETURN inside HTTP 200) raises the Failure it carries."""

    def __init__(self, body, root_tag, record_path, where):
        self.body, self.root_tag, self.where, self.root = body, root_tag, where, None
        self.path = record_path.split("/")

    def __iter__(self):
        stack, where = [], self.where
        try:
            for event, elem in ET.iterparse(self.body, events=("start", "end")):
                if event == "start":
                    if self.root is None:
                        if elem.tag not in (self.root_tag, "SIMPLE_RETURN", "GENERIC_RETURN"):
                            raise Failure(1, f"{where}: expected <{self.root_tag}>, got "
                                          f"<{elem.tag}>")
                        self.root = elem
                    stack.append(elem)
                    continue
                stack.pop()
                if (elem.tag == self.path[-1] and len(stack) == len(self.path)
                        and self.root.tag == self.root_tag
                        and [e.tag for e in stack[1:]] == self.path[:-1]):
                    yield elem
                    stack[-1].remove(elem)
        except ET.ParseError as e:
            line, column = e.position
            if self.root is not None and e.code in CUT:
                raise Failure(4, f"{where}: the document ends at line {line} before its root "
                              "element closes (truncated response)", "backoff") from None
            raise Failure(1, f"{where}: invalid XML at line {line}, column {column}: {e}") from None
        if self.root is None:
            raise Failure(1, f"{where}: the response body holds no XML element")
        if self.root.tag != self.root_tag:
            raise from_envelope(self.root, 200, {}, where)


def text(elem, path):
    """A field's text as the built-in reads it: trimmed, None when absent or empty."""
    value = elem.findtext(path)
    return (value.strip(" \t\n\r") or None) if value else None


def number(value):
    """An integer as a JSON number when it parses, else the text as Qualys sent it."""
    if value and re.fullmatch(r"\+?[0-9]+", value) and int(value) < 2 ** 64:
        return int(value)
    return value


def flag(value):
    return {"1": True, "0": False}.get(value, value)


def last_text(elem, path):
    """The last non-empty text at `path` (CVSS/BASE), as the built-in keeps it."""
    values = [(e.text or "").strip() for e in elem.iterfind(path)]
    return next((v for v in reversed(values) if v), None)


def score(value):
    """A CVSS score as a JSON number when it parses, else its text."""
    if value and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return float(value)
    return value


def required_id(elem, path, where):
    value = text(elem, path)
    if not isinstance(number(value), int):
        raise Failure(1, f"{where}: {path} is not a number: {value!r}")
    return int(value)


def host_fields(host, where):
    """The host fields both streams start with, in the built-in connector's order."""
    return {"host_id": required_id(host, "ID", where), "asset_id": number(text(host, "ASSET_ID")),
            "ip": text(host, "IP"), "ipv6": text(host, "IPV6"),
            "dns": text(host, "DNS") or text(host, "DNS_DATA/HOSTNAME") or text(host, "HOSTNAME"),
            "fqdn": text(host, "DNS_DATA/FQDN") or text(host, "FQDN"),
            "netbios": text(host, "NETBIOS"), "os": text(host, "OS"),
            "tracking_method": text(host, "TRACKING_METHOD")}


def tags(host):
    return [tag.findtext("NAME") or "" for tag in host.iterfind("TAGS/TAG")]


def detection_records(host, where):
    """(qid, record) per Confirmed or Potential detection; information gathered is dropped."""
    base = host_fields(host, where)
    base["tags"] = tags(host)
    for d in host.iterfind("DETECTION_LIST/DETECTION"):
        qid = required_id(d, "QID", where)
        kind = text(d, "TYPE")
        if kind not in ("Confirmed", "Potential"):
            continue
        yield qid, dict(base, unique_vuln_id=number(text(d, "UNIQUE_VULN_ID")), qid=qid,
                        type=kind, severity=number(text(d, "SEVERITY")), status=text(d, "STATUS"),
                        port=number(text(d, "PORT")), protocol=text(d, "PROTOCOL"),
                        ssl=flag(text(d, "SSL")), first_found=text(d, "FIRST_FOUND_DATETIME"),
                        last_found=text(d, "LAST_FOUND_DATETIME"),
                        times_found=number(text(d, "TIMES_FOUND")),
                        last_test=text(d, "LAST_TEST_DATETIME"),
                        last_update=text(d, "LAST_UPDATE_DATETIME"),
                        last_fixed=text(d, "LAST_FIXED_DATETIME"),
                        last_processed=text(d, "LAST_PROCESSED_DATETIME"),
                        is_ignored=flag(text(d, "IS_IGNORED")),
                        is_disabled=flag(text(d, "IS_DISABLED")),
                        affect_running_kernel=flag(text(d, "AFFECT_RUNNING_KERNEL")),
                        results=d.findtext("RESULTS") or None)  # RESULTS as sent, not trimmed


def asset_record(host, where):
    return dict(host_fields(host, where), serial_number=text(host, "SERIAL_NUMBER"),
                network_id=number(text(host, "NETWORK_ID")), qg_host_id=text(host, "QG_HOSTID"),
                cloud_provider=text(host, "CLOUD_PROVIDER"),
                ec2_instance_id=text(host, "EC2_INSTANCE_ID"), owner=text(host, "OWNER"),
                tags=tags(host),
                last_vuln_scan=(text(host, "LAST_VULN_SCAN_DATETIME")
                                or text(host, "LAST_SCAN_DATETIME")),
                last_vm_scanned_date=text(host, "LAST_VM_SCANNED_DATE"),
                last_vm_scanned_duration=number(text(host, "LAST_VM_SCANNED_DURATION")),
                last_vm_auth_scanned_date=text(host, "LAST_VM_AUTH_SCANNED_DATE"),
                last_vm_auth_scanned_duration=number(text(host, "LAST_VM_AUTH_SCANNED_DURATION")),
                last_compliance_scan=text(host, "LAST_COMPLIANCE_SCAN_DATETIME"),
                last_scap_scan=text(host, "LAST_SCAP_SCAN_DATETIME"))


def to_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- paging ---------------------------------------------------------------------------------

class Page:
    """One page parsed completely: its records wait in a spool (memory, then disk) until the
    page is committed, so a page that fails half-way and is retried emits nothing twice."""

    def __init__(self):
        self.spool = tempfile.SpooledTemporaryFile(8 << 20, "w+", encoding="utf-8", newline="\n")
        self.qids, self.hosts, self.last_host_id, self.replaced = set(), 0, None, 0
        self.next_url = None  # the truncation WARNING's URL, when more pages follow


def read_page(stream, body, where):
    page, document = Page(), Document(body, ROOTS[stream], "RESPONSE/HOST_LIST/HOST", where)
    for host in document:
        page.hosts += 1
        page.last_host_id = required_id(host, "ID", where)
        if stream == "vmdr-assets":
            page.spool.write(to_json(asset_record(host, where)) + "\n")
            continue
        for qid, record in detection_records(host, where):
            # Without its closing brace: the KnowledgeBase join appends its fields and closes it.
            page.spool.write(f"{qid}\t{to_json(record)[:-1]}\n")
            page.qids.add(qid)
    warning = document.root.find("RESPONSE/WARNING")
    if warning is not None and "ignore-pagination" not in BREAKS:
        page.next_url = (warning.findtext("URL") or "").strip()
    page.replaced = body.replaced
    return page


def next_id_min(page, id_min, where):
    """id_min from the WARNING's URL; the URL itself is never requested. None on the last page."""
    if page.next_url is None:
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.next_url).query)
    next_id = whole(query.get("id_min", [""])[0])
    if next_id is None:
        raise Failure(1, f"{where}: truncation WARNING without a usable next-page URL "
                      f"({page.next_url!r}); the remaining records cannot be fetched")
    floor = max(v for v in (id_min, page.last_host_id, -1) if v is not None)
    if next_id <= floor:
        raise Failure(1, f"{where}: pagination cursor does not advance (id_min {next_id} after "
                      f"{floor}); stopping instead of looping\n  what to do: report this with the "
                      "request journal; the server is returning the same page again")
    return next_id


# --- KnowledgeBase join ---------------------------------------------------------------------

class KnowledgeBase:
    """KB fields per QID, asked in batches once per run and kept as the JSON tail of a record."""

    def __init__(self, qualys, settings):
        self.qualys, self.enabled = qualys, settings["knowledge_base"]
        self.batch = settings["kb_batch_size"]
        self.tails, self.unknown = {}, self.tail(None)
        self.requests = self.missing = 0

    @staticmethod
    def tail(vuln):
        """`,"title":…}`: the KB fields that close an open record (all null when unknown)."""
        fields = {"title": None, "cves": [], "cvss_base": None, "cvss3_base": None,
                  "category": None, "patchable": None}
        if vuln is not None:
            category = vuln.findtext("CATEGORY")
            fields.update(title=(vuln.findtext("TITLE") or "").strip() or None,
                          cves=[(c.text or "").strip() for c in vuln.iterfind("CVE_LIST/CVE/ID")],
                          cvss_base=score(last_text(vuln, "CVSS/BASE")),
                          cvss3_base=score(last_text(vuln, "CVSS_V3/BASE")),
                          category=category.strip() if category is not None else None,
                          patchable={"1": True, "0": False}.get(text(vuln, "PATCHABLE")))
        return "," + to_json(fields)[1:]

    def parse(self, body, where):
        document = Document(body, "KNOWLEDGE_BASE_VULN_LIST_OUTPUT", "RESPONSE/VULN_LIST/VULN",
                            where)
        return {required_id(vuln, "QID", where): self.tail(vuln) for vuln in document}

    def ensure(self, qids):
        """Looks up the QIDs not asked yet, in sorted batches of kb_batch_size."""
        wanted = sorted(q for q in qids if q not in self.tails) if self.enabled else []
        for start in range(0, len(wanted), self.batch):
            batch = wanted[start:start + self.batch]
            params = [("action", "list"), ("details", "Basic"), ("ids", ",".join(map(str, batch)))]
            found = self.qualys.fetch(KB_PATH, params, self.parse)
            self.requests += 1
            self.missing += sum(q not in found for q in batch)
            self.tails.update({q: found.get(q, self.unknown) for q in batch})

    def join(self, line):
        qid, _, open_record = line.rstrip("\n").partition("\t")
        return open_record + self.tails.get(int(qid), self.unknown) + "\n"


# --- output ---------------------------------------------------------------------------------

class Output:
    """NDJSON in a temporary file beside the target, renamed into place only by publish(): a
    failed run never leaves a file that looks complete. Stdout when there is no target."""

    def __init__(self, target):
        self.target, self.count, self.tmp = target, 0, None
        if target:
            fd, self.tmp = tempfile.mkstemp(prefix=".pyconn-partial-",
                                            dir=os.path.dirname(os.path.abspath(target)))
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # the user's result, not mkstemp's private 0600
            self.file = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        else:
            self.file = sys.stdout

    def write(self, line):
        self.file.write(line)
        self.count += 1

    def publish(self):
        self.file.flush()
        if self.tmp:
            self.file.close()
            os.replace(self.tmp, self.target)
            self.tmp = None

    def discard(self):
        if self.tmp:
            self.file.close()
            os.unlink(self.tmp)


def first_request(stream, settings):
    """The first page's form parameters, as the built-in sends them; later pages add id_min."""
    limit = ("truncation_limit", str(settings["truncation_limit"]))
    if stream == "vmdr-assets":
        params = [("action", "list"), ("details", "All"), ("show_tags", "1"),
                  ("show_asset_id", "1"), limit]
    else:  # no show_igs: information-gathered detections are not part of the stream
        params = [("action", "list"), ("show_tags", "1"), ("status", settings["status"]), limit]
        params += [(k, "1") for k in ("include_ignored", "include_disabled") if settings[k]]
        if settings["arf"] is not None:
            params.append(("arf_kernel_filter", str(settings["arf"])))
    if settings["include"]:  # the documented rule makes include and exclude come together
        params += [("use_tags", "1"), ("tag_set_by", "name"),
                   ("tag_include_selector", settings["include_selector"]),
                   ("tag_set_include", ",".join(settings["include"])),
                   ("tag_exclude_selector", settings["exclude_selector"]),
                   ("tag_set_exclude", ",".join(settings["exclude"]))]
    return params


def run(stream, settings, qualys, output):
    """Pages through the stream; each page is parsed completely, its cursor checked and its
    KnowledgeBase QIDs looked up before any of its records reach the output."""
    kb, params = KnowledgeBase(qualys, settings), first_request(stream, settings)
    id_min, pages, hosts, replaced = None, 0, 0, 0
    while True:
        where = f"{PATHS[stream]} (page {pages + 1})"
        page_params = params + ([("id_min", str(id_min))] if id_min is not None else [])
        page = qualys.fetch(PATHS[stream], page_params, lambda body, w: read_page(stream, body, w),
                            pages + 1)
        next_id = next_id_min(page, id_min, where)
        kb.ensure(page.qids)
        page.spool.seek(0)
        for line in page.spool:
            output.write(kb.join(line) if stream == "vmdr-vulnerabilities" else line)
        page.spool.close()
        pages, hosts, replaced = pages + 1, hosts + page.hosts, replaced + page.replaced
        if next_id is None:
            break
        id_min = next_id
    summary = (f"{output.count} records from {pages} page(s), {hosts} host(s); "
               f"{qualys.requests} request(s), {qualys.retries} retries")
    if kb.enabled and stream == "vmdr-vulnerabilities":
        summary += f"; KnowledgeBase: {kb.requests} request(s), {kb.missing} unknown QID(s)"
    print(summary, file=sys.stderr)
    if replaced:
        print(f"warning: {replaced} character(s) XML forbids were replaced by U+FFFD",
              file=sys.stderr)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="breaks", action="append", default=[],
                        choices=["ignore-pagination", "retry-2003"],
                        help="test only: a deliberately broken variant (see the module docstring)")
    BREAKS.update(parser.parse_args(argv).breaks)
    env = os.environ.get
    output = None
    try:
        stream = env("QHARNESS_STREAM", "")
        if stream not in PATHS:
            raise config_error("QHARNESS_STREAM", f"{stream!r}: this example covers the VMDR "
                               "streams only", "use vmdr-assets or vmdr-vulnerabilities")
        for name in ("QUALYS_PLATFORM_URL", "QUALYS_USERNAME", "QUALYS_PASSWORD"):
            if not env(name):
                raise config_error(name, "not set", f"export {name}=... before running")
        base = check_platform_url(env("QUALYS_PLATFORM_URL").strip())
        settings = read_settings(stream, env("QHARNESS_SETTINGS"))
        qualys = Qualys(base, env("QUALYS_USERNAME").strip(), env("QUALYS_PASSWORD"), settings,
                        env("QHARNESS_CA_CERT"))
        output = Output(env("QHARNESS_OUTPUT"))
        run(stream, settings, qualys, output)
        output.publish()
        return 0
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return failure.exit_code
    except OSError as e:  # writing the output: a local problem
        print(f"error: {e}\n  what to do: check the path and its permissions", file=sys.stderr)
        return 1
    finally:
        if output is not None:
            output.discard()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
