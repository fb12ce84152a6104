"""Drives the simulator with an independent, third-party Qualys client (qualysapi from PyPI,
unchanged) and checks that what a real user of that library does works: HLD paging by id_min,
the Host List, a KnowledgeBase lookup, qualysapi's own rate-limit wait (it matches Qualys's
1965 text and reads X-RateLimit-ToWait-Sec), and a bad password surfacing as HTTP 401.

Usage: qualysapi_check.py HOST:PORT (HTTPS; REQUESTS_CA_BUNDLE names the simulator's cert)
Exit 0 when every check holds; prints one line per check.
"""
import sys
import time
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlparse

import qualysapi
import requests

server = sys.argv[1]
failures = []


def check(name, ok, detail=""):
    print(("ok     " if ok else "FAILED ") + name + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(name)


def root_of(text):
    # qualysapi returns str; strip the XML declaration's encoding for ElementTree.
    return ET.fromstring(text.encode("utf-8"))


qgc = qualysapi.connect(username="quays_ab1", password="demo", hostname=server)

# 1. Host List Detection, paged the way qualysapi users page: id_min from the WARNING URL.
params = {"action": "list", "truncation_limit": "50", "show_tags": "1"}
hosts, detections, pages, seen = 0, 0, 0, set()
while True:
    root = root_of(qgc.request("/api/2.0/fo/asset/host/vm/detection/", dict(params)))
    pages += 1
    for host in root.iter("HOST"):
        hid = host.findtext("ID")
        check_dup = hid in seen
        seen.add(hid)
        if check_dup:
            failures.append(f"host {hid} returned twice")
        hosts += 1
        detections += len(host.findall("DETECTION_LIST/DETECTION"))
    url = root.findtext("RESPONSE/WARNING/URL")
    if not url:
        break
    params["id_min"] = parse_qs(urlparse(url.strip()).query)["id_min"][0]
check("HLD pages through the tenant by id_min", pages == 5 and detections == 1324,
      f"{pages} pages, {hosts} hosts, {detections} detections")

# 2. Host List with details=All.
root = root_of(qgc.request("/api/2.0/fo/asset/host/",
                           {"action": "list", "details": "All", "show_tags": "1"}))
check("Host List returns every demo host", len(root.findall("RESPONSE/HOST_LIST/HOST")) == 240)

# 3. KnowledgeBase lookup of a QID the demo uses.
root = root_of(qgc.request("/api/2.0/fo/knowledge_base/vuln/",
                           {"action": "list", "ids": "38170"}))
titles = [v.findtext("TITLE") for v in root.iter("VULN")]
check("KnowledgeBase answers a QID", len(titles) == 1 and titles[0], str(titles))

# 4. qualysapi's own 1965 handling: quays_ci1 may call 2 times per 3 s window.
ci = qualysapi.connect(username="quays_ci1", password="demo", hostname=server)
started = time.time()
for _ in range(3):
    text = ci.request("/api/2.0/fo/asset/host/", {"action": "list", "details": "None"})
waited = time.time() - started
check("qualysapi waits out a 1965 rate limit by X-RateLimit-ToWait-Sec and succeeds",
      "<ID_SET>" in text and waited >= 1.0, f"third call answered after {waited:.1f}s")

# 5. A wrong password is an HTTP 401 with CODE 2000.
bad = qualysapi.connect(username="quays_ab1", password="wrong", hostname=server)
try:
    bad.request("/api/2.0/fo/asset/host/", {"action": "list"})
    check("a bad password is refused", False, "the request succeeded")
except requests.HTTPError as e:
    body = e.response.text
    check("a bad password is refused with 401 CODE 2000",
          e.response.status_code == 401 and "<CODE>2000</CODE>" in body,
          f"HTTP {e.response.status_code}")

sys.exit(1 if failures else 0)
