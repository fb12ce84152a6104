#!/usr/bin/env python3
"""An external Qualys VMDR connector in Python 3, standard library only.

The example to copy for `qharness conform --connector "python3 connector.py"`. It reads the
contract from its environment (README, "Validating any connector"), pages Host List Detection
or Host List by id_min, joins the KnowledgeBase, and writes NDJSON, published only when the run
succeeds. Exit codes are qharness's: 0 success, 2 configuration, 3 account or permission (never
retried), 4 transient failure after bounded retries, 1 anything else. It reads top to bottom:
settings, HTTP, refusals, parsing, records, the run.

Test only, deliberately broken variants that the conformance suite must catch:
  --break ignore-pagination   stop after the first page
  --break retry-2003          retry CODE 2003 (registration not completed) as if transient
"""
import argparse, base64, http.client, json, os, re, ssl, sys, tempfile, time
import urllib.error, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
from xml.parsers import expat

VULNS, ASSETS = "vmdr-vulnerabilities", "vmdr-assets"
PATHS = {VULNS: "/api/2.0/fo/asset/host/vm/detection/", ASSETS: "/api/2.0/fo/asset/host/"}
ROOTS = {VULNS: "HOST_LIST_VM_DETECTION_OUTPUT", ASSETS: "HOST_LIST_OUTPUT"}
KB_PATH = "/api/2.0/fo/knowledge_base/vuln/"
BREAKS = set()  # the --break variants in force


class Failure(Exception):
    """What went wrong and what to do, the exit code, Qualys's CODE, and whether a retry may
    help: retry is None (never), "backoff", or the seconds Qualys asked to wait."""
    def __init__(self, exit_code, message, retry=None, code=None):
        super().__init__(message)
        self.exit_code, self.retry, self.code = exit_code, retry, code


def config_error(setting, problem, fix):
    return Failure(2, f"invalid configuration: {setting}: {problem}\n  what to do: {fix}")


def whole(value):
    """A non-negative integer or None: numbers from the server are checked, not trusted."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"[0-9]+", value) else None


# --- settings: all checked before the first request ------------------------------------------

# The configuration-file keys it reads: key -> (type, default, lowest, highest). Unknown keys
# ending in _secs or _ms are timing only and ignored; any other would change the records: exit 2.
SETTINGS = {"tag_include": (str, ""), "tag_exclude": (str, ""),
            "tag_include_selector": (str, "any"), "tag_exclude_selector": (str, "any"),
            "status": (object, "New,Active,Re-Opened,Fixed"),  # "New,Active" or a list
            "arf_kernel_filter": (int, None, 0, 3), "truncation_limit": (int, 1000, 0, None),
            "include_ignored": (bool, False), "include_disabled": (bool, False),
            "kb_batch_size": (int, 300, 1, 1000), "knowledge_base": (bool, True),
            "max_attempts": (int, 5, 1, None), "max_wait_secs": (int, 300, 0, None),
            "backoff_initial_ms": (int, 1000, 0, None),
            "read_timeout_secs": (int, 300, 1, None)}  # urllib's one timeout: connecting too
FROM_ENVIRONMENT = ("stream", "platform_url", "username", "password_file", "ca_cert")
VULN_ONLY = ("arf_kernel_filter", "include_ignored", "include_disabled", "status")
STATUSES = {"new": "New", "active": "Active", "re-opened": "Re-Opened", "reopened": "Re-Opened",
            "fixed": "Fixed"}


def read_settings(stream, path):
    raw = {}
    try:
        if path:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
    except (OSError, ValueError) as e:
        raise config_error("QHARNESS_SETTINGS", f"cannot read {path}: {e}", "fix the file")
    unknown = sorted(k for k in raw if k not in SETTINGS and k not in FROM_ENVIRONMENT
                     and not re.search(r"_(secs|ms)$", k))
    if unknown:
        raise config_error(", ".join(unknown), "not implemented by this example, and ignoring "
                           "it would change the records", "remove it or use qharness fetch")
    s = {key: spec[1] for key, spec in SETTINGS.items()}
    for key in (k for k in SETTINGS if k in raw):
        (kind, _, *limits), value = SETTINGS[key], raw[key]
        if key in VULN_ONLY and stream != VULNS:
            raise config_error(key, "only applies to the vmdr-vulnerabilities stream",
                               f"remove {key} or use the vmdr-vulnerabilities stream")
        if not isinstance(value, kind) or kind is int and isinstance(value, bool):
            raise config_error(key, f"{value!r} is not a {kind.__name__}", "fix its type")
        if limits and not limits[0] <= value <= (limits[1] or value):
            raise config_error(key, f"{value} is out of range",
                               f"use {limits[0]} to {limits[1] or 'more'}")
        s[key] = value
    for tags, selector in (("tag_include", "tag_include_selector"),
                           ("tag_exclude", "tag_exclude_selector")):
        names, s[selector] = s[tags].strip(), s[selector].strip().lower()
        s[tags] = [name.strip() for name in names.split(",")] if names else []
        if "" in s[tags]:
            raise config_error(tags, f"{names!r} is not a valid tag list",
                               "separate non-empty tag names with commas")
        if s[selector] not in ("any", "all"):
            raise config_error(selector, f"{s[selector]!r} is not a valid tag selector; valid "
                               "values are any, all", "use any or all")
    for have, lacks in (("include", "exclude"), ("exclude", "include")):
        if s[f"tag_{have}"] and not s[f"tag_{lacks}"]:
            raise config_error(f"tag_{lacks}", f"tag_{have} is set but tag_{lacks} is missing; "
                               "the asset tag sets to include and to exclude each require the "
                               "other", f"set tag_{lacks} too, or remove tag_{have}")
    status = s["status"]
    items = (",".join(map(str, status)) if isinstance(status, list) else str(status)).split(",")
    for item in items:
        if item.strip().lower() not in STATUSES:
            raise config_error("status", f"{item!r} is not a valid vulnerability status; valid "
                               "values are New, Active, Re-Opened, Fixed", "use a subset of them")
    wanted = {STATUSES[item.strip().lower()] for item in items}
    s["status"] = ",".join(v for v in ("New", "Active", "Re-Opened", "Fixed") if v in wanted)
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
        self.base, self.s = base, settings
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
        """POSTs until `parse(body, where)` returns or the retry budget (max_attempts for this
        request, max_wait_secs for the run) is spent; a retried page is parsed from scratch."""
        started, failures, budget = time.monotonic(), 0, self.s["max_wait_secs"]
        while True:
            wait = self.blocked_until - time.monotonic()  # the last answer said: window spent
            if wait > 0 and self.waited + wait <= budget:
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
                    self.s["backoff_initial_ms"] / 1000 * 2 ** (failures - 1), 30)
                if failures >= self.s["max_attempts"] or self.waited + delay > budget:
                    advice = ("the subscription's API rate limit is used up; run again after "
                              "the window passes, or raise max_wait_secs" if f.code == 1965 else
                              "run again later; if it persists, check the network path and any "
                              "proxy, or contact Qualys support with the time of the failure")
                    raise Failure(4, f"still failing after {failures} attempt{'s' * (failures > 1)}"
                                  f" over {time.monotonic() - started:.0f}s: {f}\n  what to do: "
                                  f"{advice} (limits: max_attempts = {self.s['max_attempts']}, "
                                  f"max_wait_secs = {budget})", code=f.code)
                self.waited += delay
                self.retries += 1
                print(f"warning: {f}; retrying in {delay:g}s", file=sys.stderr)
                time.sleep(delay)

    def attempt(self, path, params, parse, where):
        request = urllib.request.Request(self.base + path, urllib.parse.urlencode(params).encode(),
                                         self.headers, method="POST")
        self.requests += 1
        try:
            with self.opener.open(request, timeout=self.s["read_timeout_secs"]) as response:
                self.note_rate_headers(response.headers)
                if "html" in (response.headers.get("Content-Type") or "").lower():
                    raise refusal(response.status, response.headers, response.read(1 << 20), where)
                return parse(Body(response), where)
        except urllib.error.HTTPError as e:  # 3xx (redirects are refused), 4xx, 5xx
            self.note_rate_headers(e.headers)
            try:
                body = e.read(1 << 20)
            except (OSError, http.client.HTTPException):
                body = b""
            raise refusal(e.code, e.headers, body, where) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise Failure(1, f"{where}: the server's TLS certificate is not trusted "
                              f"({reason.verify_message})\n  what to do: set QHARNESS_CA_CERT to "
                              "the PEM of the CA that signed it") from None
            raise Failure(4, f"{where}: the connection failed ({type(reason).__name__}: {reason})",
                          "backoff") from None

    def note_rate_headers(self, headers):
        to_wait = whole(headers.get("X-RateLimit-ToWait-Sec"))
        if whole(headers.get("X-RateLimit-Remaining")) == 0 and to_wait:
            self.blocked_until = time.monotonic() + to_wait


# --- refusals: what an answer that is not the document means ---------------------------------

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
           "ask your Qualys account manager to enable the module")}
NO_PERMISSION = ("the Qualys user lacks the \"Manage VM module\" permission",  # HTTP 403
                 "ask a Qualys Manager to give the user that permission, together with API access")


def refusal(status, headers, body, where, root=None):
    """The Failure an answer carries: an HTML page, else Qualys's CODE in a SIMPLE_RETURN or
    GENERIC_RETURN envelope (`root`, else parsed from `body`), else the HTTP status."""
    if root is None and ("html" in (headers.get("Content-Type") or "").lower() or
                         body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))):
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
        root = ET.fromstring(FORBIDDEN.sub("\ufffd".encode(), body)) if root is None else root
    except ET.ParseError:
        pass
    code, message, items, generic = None, "no Qualys message in the body", {}, False
    if root is not None and root.tag in ("SIMPLE_RETURN", "GENERIC_RETURN"):
        code, generic = whole(root.findtext("RESPONSE/CODE")), root.tag == "GENERIC_RETURN"
        message = (root.findtext("RESPONSE/TEXT") or root.findtext("RETURN") or "").strip()
        items = {(i.findtext("KEY") or "").strip().upper(): i.findtext("VALUE")
                 for i in root.iterfind("RESPONSE/ITEM_LIST/ITEM")}
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

FORBIDDEN = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters XML 1.0 forbids
CUT = {expat.errors.codes[m] for m in (  # expat's ways of saying "the input stopped early"
    expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN,
    expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION, expat.errors.XML_ERROR_PARTIAL_CHAR)}


class Body:
    """The response as iterparse reads it, forbidden characters replaced by U+FFFD and counted,
    as the built-in does: a stray control character costs one character, not the page."""
    def __init__(self, raw):
        self.raw, self.replaced = raw, 0

    def read(self, size=-1):
        data, replaced = FORBIDDEN.subn("\ufffd".encode(), self.raw.read(size))
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
            if stack and stack[0].tag == root_tag and [e.tag for e in stack[1:] + [elem]] == want:
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
        raise refusal(200, {}, b"", where, document["root"])


# --- records: the built-in connector's fields, in its order ----------------------------------

# (key, XML path, kind); a path "A|B" takes the first present. Kinds: text (trimmed, null when
# empty), int (a number when it parses, else the text), flag (1 and 0 as true and false), tags
# (the tag names), raw (as sent, not trimmed).
HOST = [("host_id", "ID", "int"), ("asset_id", "ASSET_ID", "int"), ("ip", "IP"), ("ipv6", "IPV6"),
        ("dns", "DNS|DNS_DATA/HOSTNAME|HOSTNAME"), ("fqdn", "DNS_DATA/FQDN|FQDN"),
        ("netbios", "NETBIOS"), ("os", "OS"), ("tracking_method", "TRACKING_METHOD")]
TAGS = [("tags", "TAGS/TAG", "tags")]
DETECTION = [
    ("unique_vuln_id", "UNIQUE_VULN_ID", "int"), ("qid", "QID", "int"), ("type", "TYPE"),
    ("severity", "SEVERITY", "int"), ("status", "STATUS"), ("port", "PORT", "int"),
    ("protocol", "PROTOCOL"), ("ssl", "SSL", "flag"), ("first_found", "FIRST_FOUND_DATETIME"),
    ("last_found", "LAST_FOUND_DATETIME"), ("times_found", "TIMES_FOUND", "int"),
    ("last_test", "LAST_TEST_DATETIME"), ("last_update", "LAST_UPDATE_DATETIME"),
    ("last_fixed", "LAST_FIXED_DATETIME"), ("last_processed", "LAST_PROCESSED_DATETIME"),
    ("is_ignored", "IS_IGNORED", "flag"), ("is_disabled", "IS_DISABLED", "flag"),
    ("affect_running_kernel", "AFFECT_RUNNING_KERNEL", "flag"), ("results", "RESULTS", "raw")]
ASSET = HOST + [
    ("serial_number", "SERIAL_NUMBER"), ("network_id", "NETWORK_ID", "int"),
    ("qg_host_id", "QG_HOSTID"), ("cloud_provider", "CLOUD_PROVIDER"),
    ("ec2_instance_id", "EC2_INSTANCE_ID"), ("owner", "OWNER")] + TAGS + [
    ("last_vuln_scan", "LAST_VULN_SCAN_DATETIME|LAST_SCAN_DATETIME"),
    ("last_vm_scanned_date", "LAST_VM_SCANNED_DATE"),
    ("last_vm_scanned_duration", "LAST_VM_SCANNED_DURATION", "int"),
    ("last_vm_auth_scanned_date", "LAST_VM_AUTH_SCANNED_DATE"),
    ("last_vm_auth_scanned_duration", "LAST_VM_AUTH_SCANNED_DURATION", "int"),
    ("last_compliance_scan", "LAST_COMPLIANCE_SCAN_DATETIME"),
    ("last_scap_scan", "LAST_SCAP_SCAN_DATETIME")]
KB_NULL = {"title": None, "cves": [], "cvss_base": None, "cvss3_base": None, "category": None,
           "patchable": None}  # the KnowledgeBase fields of a QID it does not know


def field(elem, path, kind="text"):
    if kind == "tags":
        return [tag.findtext("NAME") or "" for tag in elem.iterfind(path)]
    if kind == "raw":
        return elem.findtext(path) or None
    values = ((elem.findtext(one) or "").strip(" \t\n\r") for one in path.split("|"))
    value = next(filter(None, values), None)
    if kind == "int" and value and re.fullmatch(r"\+?[0-9]+", value) and int(value) < 2 ** 64:
        return int(value)
    return {"1": True, "0": False}.get(value, value) if kind == "flag" else value


def fields(elem, table):
    return {key: field(elem, *spec) for key, *spec in table}


def ident(elem, path, where):
    """A host ID or QID, which must be a number: the paging and the join depend on it."""
    value = field(elem, path, "int")
    if not isinstance(value, int):
        raise Failure(1, f"{where}: {path} is not a number: {value!r}")
    return value


def records(stream, host, where):
    """The host's records: the host itself, or one per Confirmed or Potential detection
    (information gathered is not part of the stream), still without KnowledgeBase fields."""
    if stream == ASSETS:
        return [fields(host, ASSET)]
    base, found = fields(host, HOST + TAGS), []
    for detection in host.iterfind("DETECTION_LIST/DETECTION"):
        ident(detection, "QID", where)
        if field(detection, "TYPE") in ("Confirmed", "Potential"):
            found.append(dict(base, **fields(detection, DETECTION)))
    return found


def kb_fields(vuln):
    """The KnowledgeBase fields that close a detection record; trimmed as the built-in does."""
    def score(path):  # the last non-empty CVSS score, a number when it parses
        values = [(e.text or "").strip() for e in vuln.iterfind(path)]
        value = next(filter(None, reversed(values)), None)
        number = value and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value)
        return float(value) if number else value
    category = vuln.findtext("CATEGORY")
    return {"title": (vuln.findtext("TITLE") or "").strip() or None,
            "cves": [(c.text or "").strip() for c in vuln.iterfind("CVE_LIST/CVE/ID")],
            "cvss_base": score("CVSS/BASE"), "cvss3_base": score("CVSS_V3/BASE"),
            "category": category.strip() if category is not None else None,
            "patchable": {"1": True, "0": False}.get(field(vuln, "PATCHABLE"))}


def to_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- the run: pages, KnowledgeBase join, output ----------------------------------------------

def first_request(stream, s):
    """The first page's form parameters, in the built-in's order; later pages add id_min."""
    if stream == ASSETS:
        params = [("action", "list"), ("details", "All"), ("show_tags", "1"),
                  ("show_asset_id", "1"), ("truncation_limit", str(s["truncation_limit"]))]
    else:  # no show_igs: information gathered is not part of the stream
        params = [("action", "list"), ("show_tags", "1"), ("show_asset_id", "1"),
                  ("status", s["status"]), ("truncation_limit", str(s["truncation_limit"]))]
        params += [(k, "1") for k in ("include_ignored", "include_disabled") if s[k]]
        if s["arf_kernel_filter"] is not None:
            params.append(("arf_kernel_filter", str(s["arf_kernel_filter"])))
    if s["tag_include"]:  # the settings check makes include and exclude come together
        params += [("use_tags", "1"), ("tag_set_by", "name")]
        for side in ("include", "exclude"):
            params += [(f"tag_{side}_selector", s[f"tag_{side}_selector"]),
                       (f"tag_set_{side}", ",".join(s[f"tag_{side}"]))]
    return params


def read_page(stream, body, where, id_min):
    """One page parsed completely into a spool (memory, then disk) before any record reaches
    the output, so a page that fails half-way is retried without duplicates. Its "id_min" is
    the next page's, from the WARNING's URL (never requested itself), or None on the last."""
    page = {"spool": tempfile.SpooledTemporaryFile(8 << 20, "w+", encoding="utf-8"),
            "qids": set(), "hosts": 0, "id_min": None}
    document, last_id = {}, -1
    for host in elements(body, ROOTS[stream], "RESPONSE/HOST_LIST/HOST", where, document):
        page["hosts"] += 1
        last_id = ident(host, "ID", where)
        for record in records(stream, host, where):
            page["spool"].write(to_json(record) + "\n")
            page["qids"].add(record.get("qid"))
    page["replaced"] = body.replaced
    warning = document["root"].find("RESPONSE/WARNING")  # more pages follow
    if warning is None or "ignore-pagination" in BREAKS:
        return page
    url = (warning.findtext("URL") or "").strip()
    page["id_min"] = next_id = whole(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                                     .get("id_min", [""])[0])
    if next_id is None:
        raise Failure(1, f"{where}: truncation WARNING without a usable next-page URL ({url!r}); "
                      "the remaining records cannot be fetched")
    floor = max(last_id, -1 if id_min is None else id_min)
    if next_id <= floor:
        raise Failure(1, f"{where}: pagination cursor does not advance (id_min {next_id} after "
                      f"{floor}); stopping instead of looping\n  what to do: report this with "
                      "the request journal; the server is returning the same page again")
    return page


def read_kb(body, where):
    vulns = elements(body, "KNOWLEDGE_BASE_VULN_LIST_OUTPUT", "RESPONSE/VULN_LIST/VULN", where, {})
    return {ident(vuln, "QID", where): kb_fields(vuln) for vuln in vulns}


def run(stream, s, qualys, out):
    kb = {}  # QID -> KnowledgeBase fields, each QID asked once per run
    params, id_min, join = first_request(stream, s), None, stream == VULNS and s["knowledge_base"]
    pages = hosts = replaced = kb_requests = written = 0
    while pages == 0 or id_min is not None:
        where = f"{PATHS[stream]} (page {pages + 1})"
        cursor = [] if id_min is None else [("id_min", str(id_min))]
        page = qualys.fetch(PATHS[stream], params + cursor,
                            lambda body, w: read_page(stream, body, w, id_min), where)
        missing = sorted(q for q in page["qids"] if q not in kb) if join else []
        for i in range(0, len(missing), s["kb_batch_size"]):  # new QIDs, in sorted batches
            batch = missing[i:i + s["kb_batch_size"]]
            found = qualys.fetch(KB_PATH, [("action", "list"), ("details", "Basic"),
                                           ("ids", ",".join(map(str, batch)))], read_kb, KB_PATH)
            kb.update({q: found.get(q, KB_NULL) for q in batch})
            kb_requests += 1
        page["spool"].seek(0)
        for line in page["spool"]:
            if stream == VULNS:  # the KnowledgeBase fields close the record
                record = json.loads(line)
                line = to_json(dict(record, **kb.get(record["qid"], KB_NULL))) + "\n"
            out.write(line)
            written += 1
        pages, hosts, replaced = pages + 1, hosts + page["hosts"], replaced + page["replaced"]
        id_min = page["id_min"]
    print(f"{written} records from {pages} page(s), {hosts} host(s); {qualys.requests} "
          f"request(s), {qualys.retries} retries; KnowledgeBase: {kb_requests} request(s)",
          file=sys.stderr)
    if replaced:
        print(f"warning: {replaced} character(s) XML forbids were replaced by U+FFFD",
              file=sys.stderr)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="breaks", action="append", default=[],
                        choices=["ignore-pagination", "retry-2003"],
                        help="test only: a deliberately broken variant (see the docstring)")
    BREAKS.update(parser.parse_args(argv).breaks)
    env, partial = os.environ.get, None
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
        # Written beside the target and renamed into place only when the run succeeded: a
        # failed run never leaves a file that looks complete. Stdout without a target.
        target = env("QHARNESS_OUTPUT")
        if target:
            partial = os.path.join(os.path.dirname(os.path.abspath(target)),
                                   f".pyconn-partial-{os.getpid()}")
        with open(partial or sys.stdout.fileno(), "w", encoding="utf-8", newline="\n",
                  closefd=partial is not None) as out:
            run(stream, settings, qualys, out)
        if partial:
            os.replace(partial, target)
        return 0
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return failure.exit_code
    except OSError as e:  # writing the output: a local problem
        print(f"error: {e}\n  what to do: check the path and its permissions", file=sys.stderr)
        return 1
    finally:
        if partial and os.path.exists(partial):
            os.unlink(partial)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
