#!/usr/bin/env python3
"""An external Qualys VMDR connector in Python 3, standard library only.

The example to copy when you judge your own connector with the conformance suite:

    qharness conform --connector "python3 examples/python-connector/connector.py"

It reads the contract from its environment (QUALYS_PLATFORM_URL, QUALYS_USERNAME,
QUALYS_PASSWORD, QHARNESS_STREAM, QHARNESS_SETTINGS, QHARNESS_CA_CERT, QHARNESS_OUTPUT; see
the README), pages Host List Detection or Host List by id_min, joins the KnowledgeBase, and
writes the README's record schema as NDJSON, published only when the run succeeded. Exit
codes are qharness's: 0 success, 2 configuration, 3 account or permission (never retried),
4 transient failure after bounded retries, 1 anything else.

Test only, deliberately broken variants that the conformance suite must catch:
  --break ignore-pagination   stop after the first page
  --break retry-2003          retry CODE 2003 (registration not completed) as if transient
"""
import argparse, base64, http.client, json, os, re, ssl, sys, tempfile, time
import urllib.error, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
from xml.parsers import expat

PATHS = {"vmdr-vulnerabilities": "/api/2.0/fo/asset/host/vm/detection/",
         "vmdr-assets": "/api/2.0/fo/asset/host/"}
ROOTS = {"vmdr-vulnerabilities": "HOST_LIST_VM_DETECTION_OUTPUT", "vmdr-assets": "HOST_LIST_OUTPUT"}
KB_PATH = "/api/2.0/fo/knowledge_base/vuln/"
STATUSES = {"new": "New", "active": "Active", "re-opened": "Re-Opened", "reopened": "Re-Opened",
            "fixed": "Fixed"}
VULN_ONLY = ("arf_kernel_filter", "include_ignored", "include_disabled", "status")
KNOWN = {*VULN_ONLY, "tag_include", "tag_exclude", "tag_include_selector",
         "tag_exclude_selector", "truncation_limit", "kb_batch_size", "knowledge_base",
         "max_attempts", "max_wait_secs", "backoff_initial_ms", "read_timeout_secs",
         "stream", "platform_url", "username", "password_file", "ca_cert"}  # the last: via env
BAD_LOGIN = ("Qualys gives this same answer for three causes; check each: 1. the username and "
             "password: log in to the Qualys console with them; 2. the user has API access "
             "(Users > edit the user > User Role > API); 3. the platform URL is the API server "
             "of the platform the account lives on")
ACCOUNT = {  # Qualys CODE -> (what happened, what to do); exit 3, never retried
    2000: ("Qualys rejected the login (Bad Login/Password)", BAD_LOGIN),
    2001: ("the Qualys account has expired", "ask your Qualys account manager to renew it"),
    2002: ("the Qualys account is inactive", "ask a Qualys Manager to activate the user"),
    2003: ("the Qualys user has not completed registration (account not activated)",
           "complete the user activation process: log in to the Qualys console with the new "
           "user's credentials, change the initial password and accept the terms"),
    2011: ("the account requires SecureID, which blocks API access",
           "use an API user without SecureID"),
    2012: ("the subscription is not licensed for this API or module",
           "ask your Qualys account manager to enable the module"),
}
NO_PERMISSION = ("the Qualys user lacks the \"Manage VM module\" permission",  # HTTP 403
                 "ask a Qualys Manager to give the user that permission, together with API access")
CUT = {expat.errors.codes[m] for m in (  # expat's ways of saying "the input stopped early"
    expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN,
    expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION, expat.errors.XML_ERROR_PARTIAL_CHAR)}
BREAKS = set()


class Failure(Exception):
    """What went wrong and what to do, its exit code, and whether a retry may help: retry is
    None (never), "backoff", or the seconds Qualys asked to wait."""

    def __init__(self, exit_code, message, retry=None, code=None):
        super().__init__(message)
        self.exit_code, self.retry, self.code = exit_code, retry, code


def config_error(setting, problem, fix):
    return Failure(2, f"invalid configuration: {setting}: {problem}\n  what to do: {fix}")


def whole(value):
    """A non-negative integer or None: numbers from the server are checked, not trusted."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"[0-9]+", value) else None


# --- settings: checked before any request ----------------------------------------------------

def read_settings(stream, path):
    raw = {}
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError) as e:
            raise config_error("QHARNESS_SETTINGS", f"cannot read {path}: {e}", "fix the file")
    # Timing settings it lacks are harmless; anything else would change the records.
    unknown = sorted(k for k in raw if k not in KNOWN and not re.search(r"_(secs|ms)$", k))
    if unknown:
        raise config_error(", ".join(unknown), "not implemented by this example, and ignoring "
                           "it would change the records", "remove it or use qharness fetch")
    for key in VULN_ONLY:
        if key in raw and stream != "vmdr-vulnerabilities":
            raise config_error(key, "only applies to the vmdr-vulnerabilities stream",
                               f"remove {key} or use the vmdr-vulnerabilities stream")

    def get(key, kind, default, low=0, high=None):
        value = raw.get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise config_error(key, f"{value!r} is not a {kind.__name__}", "fix its type")
        if kind is int and not low <= value <= (high if high is not None else value):
            raise config_error(key, f"{value} is out of range", f"use {low} to {high or 'more'}")
        return value

    def tags(key):
        value = get(key, str, "").strip()
        names = [t.strip() for t in value.split(",")] if value else []
        if "" in names:
            raise config_error(key, f"{value!r} is not a valid tag list",
                               "separate non-empty tag names with commas")
        return names

    def selector(key):
        value = get(key, str, "any").strip().lower()
        if value not in ("any", "all"):
            raise config_error(key, f"{value!r} is not a valid tag selector; valid values are "
                               "any, all", "use any or all")
        return value

    s = {"include": tags("tag_include"), "exclude": tags("tag_exclude"),
         "include_selector": selector("tag_include_selector"),
         "exclude_selector": selector("tag_exclude_selector")}
    for have, lacks in (("include", "exclude"), ("exclude", "include")):
        if s[have] and not s[lacks]:
            raise config_error(f"tag_{lacks}", f"tag_{have} is set but tag_{lacks} is missing; "
                               "the connector documentation says the asset tag set to include "
                               "and the asset tag set to exclude each require the other",
                               f"set tag_{lacks} too, or remove tag_{have}")
    status = raw.get("status", "New,Active,Re-Opened,Fixed")  # "New,Active" or a list
    wanted = set()
    for item in (",".join(map(str, status)) if isinstance(status, list) else str(status)).split(","):
        if item.strip().lower() not in STATUSES:
            raise config_error("status", f"{item!r} is not a valid vulnerability status; valid "
                               "values are New, Active, Re-Opened, Fixed", "use a subset of them")
        wanted.add(STATUSES[item.strip().lower()])
    s["status"] = ",".join(v for v in ("New", "Active", "Re-Opened", "Fixed") if v in wanted)
    s.update(arf=get("arf_kernel_filter", int, 0, 0, 3) if "arf_kernel_filter" in raw else None,
             truncation_limit=get("truncation_limit", int, 1000),
             include_ignored=get("include_ignored", bool, False),
             include_disabled=get("include_disabled", bool, False),
             kb_batch_size=get("kb_batch_size", int, 300, 1, 1000),
             knowledge_base=get("knowledge_base", bool, True),
             max_attempts=get("max_attempts", int, 5, 1), max_wait=get("max_wait_secs", int, 300),
             backoff=get("backoff_initial_ms", int, 1000) / 1000,
             timeout=get("read_timeout_secs", int, 300, 1))  # urllib: one timeout for all
    return s


def check_platform_url(url):
    """A URL with a path, or a web UI or API gateway host, is a mistake users make; say so."""
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


# --- HTTP: form POSTs with Basic auth, bounded retries, rate-limit waits ---------------------

class RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # credentials go to the configured origin only


class Qualys:
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

    def fetch(self, path, params, parse, where):
        """POSTs until `parse(body, where)` returns or the run's retry budget is spent; a
        retried page is parsed again from scratch."""
        started, failures = time.monotonic(), 0
        while True:
            wait = self.blocked_until - time.monotonic()  # the last answer said: window spent
            if wait > 0 and self.waited + wait <= self.settings["max_wait"]:
                self.waited += wait
                time.sleep(wait)
            self.blocked_until = 0.0
            try:
                return self.attempt(path, params, parse, where)
            except Failure as f:
                if f.retry is None:
                    raise
                failures += 1
                delay = f.retry if f.retry != "backoff" else min(
                    self.settings["backoff"] * 2 ** (failures - 1), 30)
                attempts, budget = self.settings["max_attempts"], self.settings["max_wait"]
                if failures >= attempts or self.waited + delay > budget:
                    advice = ("the subscription's API rate limit is used up; run again after "
                              "the window passes, or raise max_wait_secs" if f.code == 1965 else
                              "run again later; if it persists, check the network path and any "
                              "proxy, or contact Qualys support with the time of the failure")
                    raise Failure(4, f"still failing after {failures} attempt{'s' * (failures > 1)}"
                                  f" over {time.monotonic() - started:.0f}s: {f}\n  what to do: "
                                  f"{advice} (limits: max_attempts = {attempts}, max_wait_secs = "
                                  f"{budget})", code=f.code)
                self.waited += delay
                self.retries += 1
                print(f"warning: {f}; retrying in {delay:g}s", file=sys.stderr)
                time.sleep(delay)

    def attempt(self, path, params, parse, where):
        request = urllib.request.Request(self.base + path, method="POST", headers=self.headers,
                                         data=urllib.parse.urlencode(params).encode())
        self.requests += 1
        try:
            response = self.opener.open(request, timeout=self.settings["timeout"])
        except urllib.error.HTTPError as e:
            self.note_rate_headers(e.headers)
            try:
                body = e.read(1 << 20)
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
                raise classify(response.status, response.headers, response.read(1 << 20), where)
            try:
                return parse(Body(response), where)
            except (OSError, http.client.HTTPException) as e:
                raise Failure(4, f"{where}: the connection failed while the body was being "
                              f"read: {e!r}", "backoff") from None

    def note_rate_headers(self, headers):
        to_wait = whole(headers.get("X-RateLimit-ToWait-Sec"))
        if whole(headers.get("X-RateLimit-Remaining")) == 0 and to_wait:
            self.blocked_until = time.monotonic() + to_wait


def classify(status, headers, body, where):
    """An answer that is not the expected document, as a Failure: an HTML page, else Qualys's
    CODE in a SIMPLE_RETURN or GENERIC_RETURN, else the HTTP status."""
    if "html" in (headers.get("Content-Type") or "").lower() or \
            body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        title = re.search(rb"<title>(.*?)</title>", body, re.I | re.S)
        said = (f"{where}, HTTP {status}: expected Qualys XML, got an HTML page \""
                f"{title.group(1).decode('utf-8', 'replace').strip() if title else ''}\"")
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
        return refusal(root, status, headers, where)
    return qualys_failure(status, headers, None, "no Qualys message in the body", {}, where)


def refusal(root, status, headers, where):
    """The Failure a SIMPLE_RETURN or GENERIC_RETURN envelope carries."""
    message = (root.findtext("RESPONSE/TEXT") or root.findtext("RETURN") or "").strip()
    items = {(i.findtext("KEY") or "").strip().upper(): i.findtext("VALUE")
             for i in root.iterfind("RESPONSE/ITEM_LIST/ITEM")}
    return qualys_failure(status, headers, whole(root.findtext("RESPONSE/CODE")), message, items,
                          where, generic=root.tag == "GENERIC_RETURN")


def qualys_failure(status, headers, code, message, items, where, generic=False):
    if code is None and (generic or status >= 500):
        code = 999  # Qualys's internal-error code, as the built-in reports it
    said = f"{where}, HTTP {status}: Qualys said: " + (f"CODE {code}: " if code else "") + message
    if code == 2003 and "retry-2003" in BREAKS:
        return Failure(4, said, "backoff", code)  # the deliberately broken variant
    if code in ACCOUNT or status in (401, 403):
        summary, advice = ACCOUNT.get(code) or (ACCOUNT[2000] if status == 401 else NO_PERMISSION)
        return Failure(3, f"{summary}; {said}\n  what to do: {advice}", code=code)
    if code == 1965:  # wait as long as Qualys asks: the header, else SECONDS_TO_WAIT
        wait = whole(headers.get("X-RateLimit-ToWait-Sec")) or whole(items.get("SECONDS_TO_WAIT"))
        return Failure(4, f"API rate limit reached; {said}", wait or "backoff", code)
    if code == 1960:
        return Failure(4, f"API concurrency limit reached; {said}", "backoff", code)
    if code in (999, 1999) or generic or status >= 500:
        return Failure(4, f"Qualys server error; {said}", "backoff", code)
    if status == 429:
        wait = whole(headers.get("Retry-After")) or whole(headers.get("X-RateLimit-ToWait-Sec"))
        return Failure(4, f"rate limited; {said}", wait or "backoff", code)
    return Failure(1, f"Qualys rejected the request; {said}\n  what to do: check that setting's "
                   "value; if this connector built it, report it as a bug", code=code)


# --- parsing: one host in memory at a time ---------------------------------------------------

class Body:
    """The response as iterparse reads it, with the characters XML 1.0 forbids replaced by
    U+FFFD and counted, as the built-in does: a stray control character costs one character,
    not the page."""
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


def elements(body, root_tag, path, where, document):
    """Yields each complete element at `path` below the root (e.g. RESPONSE/HOST_LIST/HOST),
    then drops it. `document["root"]` keeps the rest (WARNING). An error envelope inside
    HTTP 200 raises the Failure it carries."""
    stack, want = [], path.split("/")
    try:
        for event, elem in ET.iterparse(body, events=("start", "end")):
            if event == "start":
                if not stack:
                    if elem.tag not in (root_tag, "SIMPLE_RETURN", "GENERIC_RETURN"):
                        raise Failure(1, f"{where}: expected <{root_tag}>, got <{elem.tag}>")
                    document["root"] = elem
                stack.append(elem)
                continue
            stack.pop()
            if stack and stack[0].tag == root_tag and [e.tag for e in stack[1:]] + [elem.tag] == want:
                yield elem
                stack[-1].remove(elem)
    except ET.ParseError as e:
        line, column = e.position
        if "root" in document and e.code in CUT:
            raise Failure(4, f"{where}: the document ends at line {line} before its root element "
                          "closes (truncated response)", "backoff") from None
        raise Failure(1, f"{where}: invalid XML at line {line}, column {column}: {e}") from None
    if "root" not in document:
        raise Failure(1, f"{where}: the response body holds no XML element")
    if document["root"].tag != root_tag:
        raise refusal(document["root"], 200, {}, where)


def text(elem, path):
    """A field as the built-in reads it: trimmed, None when absent or empty."""
    value = elem.findtext(path)
    return (value.strip(" \t\n\r") or None) if value else None


def number(value):
    """An integer when it parses, else the text as Qualys sent it."""
    return int(value) if value and re.fullmatch(r"\+?[0-9]+", value) and int(value) < 2 ** 64 \
        else value


def flag(value):
    return {"1": True, "0": False}.get(value, value)


def score(vuln, path):
    """The last non-empty CVSS score at `path`, a number when it parses."""
    values = [v for v in ((e.text or "").strip() for e in vuln.iterfind(path)) if v]
    value = values[-1] if values else None
    return float(value) if value and re.fullmatch(
        r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value) else value


def host_id(elem, path, where):
    value = number(text(elem, path))
    if not isinstance(value, int):
        raise Failure(1, f"{where}: {path} is not a number: {value!r}")
    return value


def host_fields(host, where):
    """The fields both streams start with, in the built-in connector's order."""
    return {"host_id": host_id(host, "ID", where), "asset_id": number(text(host, "ASSET_ID")),
            "ip": text(host, "IP"), "ipv6": text(host, "IPV6"),
            "dns": text(host, "DNS") or text(host, "DNS_DATA/HOSTNAME") or text(host, "HOSTNAME"),
            "fqdn": text(host, "DNS_DATA/FQDN") or text(host, "FQDN"),
            "netbios": text(host, "NETBIOS"), "os": text(host, "OS"),
            "tracking_method": text(host, "TRACKING_METHOD")}


def tags(host):
    return [tag.findtext("NAME") or "" for tag in host.iterfind("TAGS/TAG")]


def detection_records(host, where):
    """A record per Confirmed or Potential detection, without its KnowledgeBase fields."""
    base = dict(host_fields(host, where), tags=tags(host))
    for d in host.iterfind("DETECTION_LIST/DETECTION"):
        qid, kind = host_id(d, "QID", where), text(d, "TYPE")
        if kind in ("Confirmed", "Potential"):  # information gathered is not part of it
            yield dict(base, unique_vuln_id=number(text(d, "UNIQUE_VULN_ID")), qid=qid, type=kind,
                       severity=number(text(d, "SEVERITY")), status=text(d, "STATUS"),
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
                       results=d.findtext("RESULTS") or None)  # as sent, not trimmed


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


def kb_fields(vuln):
    """The KnowledgeBase fields of a record; all null for a QID the KnowledgeBase lacks."""
    if vuln is None:
        return {"title": None, "cves": [], "cvss_base": None, "cvss3_base": None,
                "category": None, "patchable": None}
    category = vuln.findtext("CATEGORY")
    return {"title": (vuln.findtext("TITLE") or "").strip() or None,
            "cves": [(c.text or "").strip() for c in vuln.iterfind("CVE_LIST/CVE/ID")],
            "cvss_base": score(vuln, "CVSS/BASE"), "cvss3_base": score(vuln, "CVSS_V3/BASE"),
            "category": category.strip() if category is not None else None,
            "patchable": {"1": True, "0": False}.get(text(vuln, "PATCHABLE"))}


def to_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- the run: pages, KnowledgeBase join, output ----------------------------------------------

def read_page(stream, body, where):
    """One page parsed completely into a spool (memory, then disk) before any record reaches
    the output, so a page that fails half-way is retried without duplicates."""
    page = {"spool": tempfile.SpooledTemporaryFile(8 << 20, "w+", encoding="utf-8"),
            "qids": set(), "hosts": 0, "last_id": None, "next_url": None}
    document = {}
    for host in elements(body, ROOTS[stream], "RESPONSE/HOST_LIST/HOST", where, document):
        page["hosts"] += 1
        page["last_id"] = host_id(host, "ID", where)
        records = detection_records(host, where) if stream == "vmdr-vulnerabilities" \
            else [asset_record(host, where)]
        for record in records:
            page["spool"].write(to_json(record) + "\n")
            page["qids"].add(record.get("qid"))
    warning = document["root"].find("RESPONSE/WARNING")  # more pages follow
    if warning is not None and "ignore-pagination" not in BREAKS:
        page["next_url"] = (warning.findtext("URL") or "").strip()
    page["replaced"] = body.replaced
    return page


def next_id_min(page, id_min, where):
    """The id_min of the WARNING's URL (the URL itself is never requested); None when the
    page was the last. A cursor that does not move forward fails instead of looping."""
    if page["next_url"] is None:
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page["next_url"]).query)
    next_id = whole(query.get("id_min", [""])[0])
    if next_id is None:
        raise Failure(1, f"{where}: truncation WARNING without a usable next-page URL "
                      f"({page['next_url']!r}); the remaining records cannot be fetched")
    floor = max(v for v in (id_min, page["last_id"], -1) if v is not None)
    if next_id <= floor:
        raise Failure(1, f"{where}: pagination cursor does not advance (id_min {next_id} after "
                      f"{floor}); stopping instead of looping\n  what to do: report this with the "
                      "request journal; the server is returning the same page again")
    return next_id


def first_request(stream, s):
    """The first page's form parameters, as the built-in sends them; later pages add id_min."""
    if stream == "vmdr-assets":
        params = [("action", "list"), ("details", "All"), ("show_tags", "1"),
                  ("show_asset_id", "1")]
    else:  # no show_igs: information gathered is not part of the stream
        params = [("action", "list"), ("show_tags", "1"), ("show_asset_id", "1"),
                  ("status", s["status"])]
    params.append(("truncation_limit", str(s["truncation_limit"])))
    if stream == "vmdr-vulnerabilities":
        params += [(k, "1") for k in ("include_ignored", "include_disabled") if s[k]]
        params += [("arf_kernel_filter", str(s["arf"]))] if s["arf"] is not None else []
    if s["include"]:  # the settings check makes include and exclude come together
        params += [("use_tags", "1"), ("tag_set_by", "name"),
                   ("tag_include_selector", s["include_selector"]),
                   ("tag_set_include", ",".join(s["include"])),
                   ("tag_exclude_selector", s["exclude_selector"]),
                   ("tag_set_exclude", ",".join(s["exclude"]))]
    return params


def run(stream, s, qualys, out):
    kb = {}  # QID -> KnowledgeBase fields, each QID asked once per run
    params, id_min, pages, hosts, replaced, kb_requests = first_request(stream, s), None, 0, 0, 0, 0
    while True:
        where = f"{PATHS[stream]} (page {pages + 1})"
        page = qualys.fetch(PATHS[stream], params + ([("id_min", str(id_min))] if id_min is not None else []),
                            lambda body, w: read_page(stream, body, w), where)
        id_min = next_id_min(page, id_min, where)
        if stream == "vmdr-vulnerabilities" and s["knowledge_base"]:
            missing = sorted(q for q in page["qids"] if q not in kb)
            for i in range(0, len(missing), s["kb_batch_size"]):
                batch = missing[i:i + s["kb_batch_size"]]
                found = qualys.fetch(KB_PATH, [("action", "list"), ("details", "Basic"),
                                               ("ids", ",".join(map(str, batch)))],
                                     lambda body, w: {host_id(v, "QID", w): kb_fields(v) for v in
                                                      elements(body, "KNOWLEDGE_BASE_VULN_LIST_OUTPUT",
                                                               "RESPONSE/VULN_LIST/VULN", w, {})},
                                     KB_PATH)
                kb_requests += 1
                kb.update({q: found.get(q, kb_fields(None)) for q in batch})
        page["spool"].seek(0)
        for line in page["spool"]:
            if stream == "vmdr-vulnerabilities":  # the KnowledgeBase fields close the record
                record = json.loads(line)
                line = to_json(dict(record, **kb.get(record["qid"], kb_fields(None)))) + "\n"
            out.write(line)
            out.count += 1
        pages, hosts, replaced = pages + 1, hosts + page["hosts"], replaced + page["replaced"]
        if id_min is None:
            break
    print(f"{out.count} records from {pages} page(s), {hosts} host(s); {qualys.requests} "
          f"request(s), {qualys.retries} retries; KnowledgeBase: {kb_requests} request(s)",
          file=sys.stderr)
    if replaced:
        print(f"warning: {replaced} character(s) XML forbids were replaced by U+FFFD",
              file=sys.stderr)


class Output:
    """NDJSON written beside the target and renamed into place only by publish(): a failed
    run never leaves a file that looks complete. Stdout without a target."""

    def __init__(self, target):
        self.target, self.count = target, 0
        self.partial = os.path.join(os.path.dirname(os.path.abspath(target)),
                                    f".pyconn-partial-{os.getpid()}") if target else None
        self.file = open(self.partial, "w", encoding="utf-8", newline="\n") if target \
            else sys.stdout
        self.write = self.file.write

    def publish(self):
        self.file.flush()
        if self.partial:
            self.file.close()
            os.replace(self.partial, self.target)
            self.partial = None

    def discard(self):
        if self.partial:
            self.file.close()
            os.unlink(self.partial)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="breaks", action="append", default=[],
                        choices=["ignore-pagination", "retry-2003"],
                        help="test only: a deliberately broken variant (see the docstring)")
    BREAKS.update(parser.parse_args(argv).breaks)
    env, out = os.environ.get, None
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
        out = Output(env("QHARNESS_OUTPUT"))
        run(stream, settings, qualys, out)
        out.publish()
        return 0
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return failure.exit_code
    except OSError as e:  # writing the output: a local problem
        print(f"error: {e}\n  what to do: check the path and its permissions", file=sys.stderr)
        return 1
    finally:
        if out is not None:
            out.discard()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
