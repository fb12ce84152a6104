#!/usr/bin/env bash
# Validates every XML file under fixtures/ whose root element has a known Qualys DTD.
# Starts nothing. Needs xmllint (apt-get install -y libxml2-utils) and the DTDs in
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
[ "$failed" -eq 0 ]
