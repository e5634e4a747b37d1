#!/usr/bin/env bash
# partner-vpn charon checks: compare what charon holds with what partner-vpn rendered
# (core/render/charonExpect.ts). Prepended to the bootstrap and to strongSwan endpoints' apply, boot
# and remove scripts. swanctl's words are never parsed for errors: it exits 0 when charon discards a
# connection, and warns about optional plugins that are not installed; only what charon reports
# holding (--list-conns, --list-algs) says whether a config is live and can be negotiated.
set -euo pipefail

pvpn_charon_say() {
    printf 'partner-vpn: %s\n' "$*" >&2
}

# Wait (bounded) until charon answers on its control socket, e.g. right after boot.
pvpn_wait_charon() {
    local i
    for i in $(seq 1 30); do
        if swanctl --stats >/dev/null 2>&1; then
            return 0
        fi
        [ "$i" -lt 30 ] && sleep 1
    done
    return 1
}

# The algorithms charon's loaded crypto plugins implement, one name per line (AES_GCM_16, ...).
pvpn_charon_algorithms() {
    local listed
    listed=$(swanctl --list-algs 2>/dev/null) || return 1
    sed -n 's/^ \{1,\}\([A-Z0-9_]\{1,\}\)\[[a-z0-9-]*\]$/\1/p' <<<"$listed" | sort -u
}

# Reads "proposal KIND PROPOSAL ALG,ALG,..." lines (other lines are ignored) and names every
# proposal that needs an algorithm charon lacks. Returns 1 if any is missing or charon does not answer.
pvpn_charon_missing_algs() {
    local partner=$1 have word kind proposal algs alg missing status=0
    if ! have=$(pvpn_charon_algorithms) || [ -z "$have" ]; then
        pvpn_charon_say "$partner: charon did not list its algorithms (swanctl --list-algs); is strongSwan running?"
        return 1
    fi
    while read -r word kind proposal algs; do
        [ "$word" = proposal ] || continue
        missing=""
        for alg in ${algs//,/ }; do
            grep -qx -- "$alg" <<<"$have" || missing="$missing $alg"
        done
        if [ -n "$missing" ]; then
            pvpn_charon_say "$partner: the $kind proposal $proposal needs${missing}, which charon's installed crypto plugins do not provide (install libstrongswan-standard-plugins, or agree another proposal with the partner)"
            status=1
        fi
    done
    return "$status"
}

# After `swanctl --load-all` printed LOAD_OUTPUT: every connection the expectation files name was
# loaded by this load (swanctl's confirmation, so a connection charon rejected does not pass on the
# strength of its previous version still being held), and charon holds exactly the children each
# file names for it: none missing, none left over. Pass "-" as LOAD_OUTPUT to check holdings only.
pvpn_charon_verify_loaded() {
    local load_output=$1 listed held file expectation word conn child status=0 extra
    shift
    listed=$(swanctl --list-conns 2>/dev/null) || { pvpn_charon_say "charon did not list its connections"; return 1; }
    # "conn" per connection, "conn child" per child, from swanctl's indentation.
    held=$(awk '/^[^ ]+: / { c = $1; sub(/:$/, "", c); print c; next }
                /^  [^ ]+: (TUNNEL|TRANSPORT|PASS|DROP|BEET)/ { ch = $1; sub(/:$/, "", ch); print c " " ch }' <<<"$listed")
    for file in "$@"; do
        expectation=$(cat "$file")
        while read -r word conn child; do
            case $word in
                conn)
                    if [ "$load_output" != - ] && ! grep -qxF -- "loaded connection '$conn'" <<<"$load_output"; then
                        pvpn_charon_say "charon did not load connection $conn (from $file)"
                        status=1
                    fi
                    grep -qxF -- "$conn" <<<"$held" || { pvpn_charon_say "charon holds no connection $conn (from $file)"; status=1; }
                    extra=$(awk -v c="$conn" '$1 == c && NF == 2 { print $2 }' <<<"$held" | grep -vxF -f <(awk -v c="$conn" '$1 == "child" && $2 == c { print $3 }' <<<"$expectation") || true)
                    [ -z "$extra" ] || { pvpn_charon_say "charon holds children of $conn that $file does not name: $(tr '\n' ' ' <<<"$extra")"; status=1; } ;;
                child)
                    grep -qxF -- "$conn $child" <<<"$held" || { pvpn_charon_say "charon holds no child $child of $conn (from $file)"; status=1; } ;;
            esac
        done <<<"$expectation"
    done
    return "$status"
}
