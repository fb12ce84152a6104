#!/usr/bin/env bash
# Validates every XML file under fixtures/ whose root element has a known Qualys DTD, and the
# WAS answers naming webapp.xsd against the saved XSD.
# Starts nothing. Needs xmllint (apt-get install -y libxml2-utils), python3 for the WAS check, and the DTDs in
# ../shared/reference/dtd (override with SHARED_DIR); without the DTDs it says so and passes,
# because a user's fresh clone has no ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."

dtd_dir="${SHARED_DIR:-../shared}/reference/dtd"
if [ ! -d "$dtd_dir" ]; then
    echo "validate-dtd: skipped, $dtd_dir is not present"
    exit 0
fi
if ! command -v xmllint >/dev/null 2>&1; then
    echo "validate-dtd: xmllint is missing; install it with: apt-get install -y libxml2-utils" >&2
    exit 1
fi

dtd_for() {
    case "$1" in
        HOST_LIST_VM_DETECTION_OUTPUT) echo host_list_vm_detection_output.reconstructed.dtd ;;
        HOST_LIST_OUTPUT) echo host_list_output.dtd ;;
        KNOWLEDGE_BASE_VULN_LIST_OUTPUT) echo knowledge_base_vuln_list_output.dtd ;;
        SIMPLE_RETURN) echo simple_return.docstring.dtd ;;
        *) echo "" ;;
    esac
}

checked=0
failed=0
while IFS= read -r -d '' file; do
    root=$(grep -m1 -o '<!DOCTYPE [A-Z_]*' "$file" | awk '{print $2}' || true)
    dtd=$(dtd_for "$root")
    if [ -z "$dtd" ]; then
        echo "validate-dtd: no DTD for $file (root ${root:-unknown}), not checked"
        continue
    fi
    checked=$((checked + 1))
    # --nonet: the DOCTYPE names a Qualys URL; never fetch it. Its "failed to load" warning is
    # expected and filtered; validity errors are not.
    if ! out=$(xmllint --nonet --noout --dtdvalid "$dtd_dir/$dtd" "$file" 2>&1); then
        failed=$((failed + 1))
        echo "validate-dtd: INVALID $file against $dtd" >&2
        echo "$out" | grep -v 'failed to load\|^\s*\^\|SYSTEM' >&2 || true
    fi
done < <(find fixtures -name '*.xml' -print0 | sort -z)

echo "validate-dtd: $((checked - failed)) passed, $failed failed"

# WAS: ServiceResponse files naming webapp.xsd, against the saved 2018 webapp.xsd, where it
# covers them: elements newer than it (the recorded lastScan/summary, lastScan/launchedDate,
# riskScore) are taken out first. There is no public finding.xsd to check findings against.
xsd="${SHARED_DIR:-../shared}/reference/was/xsd/webapp.xsd"
if [ ! -f "$xsd" ]; then
    echo "validate-dtd: WAS schema check skipped, $xsd is not present"
    [ "$failed" -eq 0 ]
    exit
fi
xsd_checked=0
xsd_failed=0
while IFS= read -r -d '' file; do
    grep -q 'noNamespaceSchemaLocation="[^"]*/was/webapp.xsd"' "$file" || continue
    xsd_checked=$((xsd_checked + 1))
    if ! out=$(python3 - "$file" <<'PY' | xmllint --nonet --noout --schema "$xsd" - 2>&1
import sys
import xml.etree.ElementTree as ET
NEWER = {"summary", "launchedDate", "riskScore"}
tree = ET.parse(sys.argv[1])
for parent in tree.iter():
    for child in list(parent):
        if child.tag in NEWER:
            parent.remove(child)
sys.stdout.write(ET.tostring(tree.getroot(), encoding="unicode"))
PY
    ); then
        xsd_failed=$((xsd_failed + 1))
        echo "validate-dtd: INVALID $file against webapp.xsd" >&2
        echo "$out" >&2
    fi
done < <(find fixtures -name '*.xml' -print0 | sort -z)
echo "validate-dtd: WAS schema: $((xsd_checked - xsd_failed)) passed, $xsd_failed failed"
[ "$failed" -eq 0 ] && [ "$xsd_failed" -eq 0 ]
