#!/bin/bash
# Checks are written as single-quoted strings for eval (and the variables
# set for them look unused):
# shellcheck disable=SC2016,SC2034
#
# End-to-end test of corosync-qnetd-certutil and corosync-qdevice-net-certutil.
#
# Runs the whole enrolment flow (QNetd CA, node database, certificate
# request, signing, import, PKCS#12 export and import on a second node,
# quick start over a fake ssh/scp) and checks files, modes, nicknames,
# subjects, trust flags and exit codes with NSS certutil.
#
# The scripts have their database directories compiled in, so the test runs
# in a private mount namespace (it re-executes itself under unshare) with a
# tmpfs over the corosync configuration directory. Nothing outside the
# namespace is changed, except a scratch directory that is removed at exit.
#
# Environment:
#   QNETD_CERTUTIL    script under test (default $BUILD_DIR/qnetd/corosync-qnetd-certutil)
#   QDEVICE_CERTUTIL  script under test (default $BUILD_DIR/qdevice/corosync-qdevice-net-certutil)
#   BUILD_DIR         build tree (default: the current directory when it holds the built
#                     scripts, else <source>/build)
#   COROSYNCSYSCONFDIR  directory compiled into the scripts (default: read from the
#                     built corosync-qnetd-certutil, else /etc/corosync)
#   QNETD_BIN         corosync-qnetd used to check that it accepts the databases
#                     (default $BUILD_DIR/qnetd/corosync-qnetd, else /usr/bin/corosync-qnetd;
#                     "none" skips these checks)
#   CERTUTIL_TEST_COMPAT_ONLY=1  skip the checks of behaviour that goes beyond
#                     corosync-qdevice 3.0.3 (to run this test against the 3.0.3 scripts)
#
# Output: one line per check (PASS/FAIL/SKIP), then "N passed, N failed".
# Exit status: 0 when every check passed, 1 otherwise, 77 when the test
# cannot run at all (not root, no unshare, no NSS tools).
#

if [ "${CERTUTIL_TEST_IN_NS:-}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: test-certutil.sh needs root (mount namespace)"
        exit 77
    fi
    if ! command -v unshare >/dev/null 2>&1; then
        echo "SKIP: test-certutil.sh needs unshare"
        exit 77
    fi
    if ! unshare -m true 2>/dev/null; then
        echo "SKIP: test-certutil.sh can't create a mount namespace"
        exit 77
    fi
    export CERTUTIL_TEST_IN_NS=1
    self=$(readlink -f "$0")
    # Private mount namespace, and a private network namespace when possible
    # (for the qnetd check), so nothing on the host is touched.
    if unshare -m -n true 2>/dev/null; then
        exec unshare -m -n --propagation private bash "$self" "$@"
    fi
    export CERTUTIL_TEST_NO_NETNS=1
    exec unshare -m --propagation private bash "$self" "$@"
fi

SRC_DIR=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)

if [ -z "${BUILD_DIR:-}" ]; then
    if [ -e "$PWD/qnetd/corosync-qnetd-certutil" ]; then
        BUILD_DIR=$PWD
    else
        BUILD_DIR=$SRC_DIR/build
    fi
fi

QNETD_CERTUTIL=${QNETD_CERTUTIL:-$BUILD_DIR/qnetd/corosync-qnetd-certutil}
QDEVICE_CERTUTIL=${QDEVICE_CERTUTIL:-$BUILD_DIR/qdevice/corosync-qdevice-net-certutil}
COMPAT_ONLY=${CERTUTIL_TEST_COMPAT_ONLY:-0}

if [ -z "${QNETD_BIN:-}" ]; then
    if [ -x "$BUILD_DIR/qnetd/corosync-qnetd" ]; then
        QNETD_BIN=$BUILD_DIR/qnetd/corosync-qnetd
    elif [ -x /usr/bin/corosync-qnetd ]; then
        QNETD_BIN=/usr/bin/corosync-qnetd
    else
        QNETD_BIN=none
    fi
fi

for f in "$QNETD_CERTUTIL" "$QDEVICE_CERTUTIL"; do
    if ! [ -x "$f" ]; then
        echo "SKIP: $f is not an executable file (build it first)"
        exit 77
    fi
done
for t in certutil pk12util; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "SKIP: NSS tool $t not installed (libnss3-tools)"
        exit 77
    fi
done

QNETD_CERTUTIL=$(readlink -f "$QNETD_CERTUTIL")
QDEVICE_CERTUTIL=$(readlink -f "$QDEVICE_CERTUTIL")

# The configuration directory compiled into the scripts under test
if [ -z "${COROSYNCSYSCONFDIR:-}" ]; then
    COROSYNCSYSCONFDIR=$(sed -n 's|^CONFIG_DIR="\(/.*\)/qnetd"$|\1|p' "$QNETD_CERTUTIL" | head -n 1)
fi
ETC=${COROSYNCSYSCONFDIR:-/etc/corosync}

QNETD_DB=$ETC/qnetd/nssdb
NODE_DB=$ETC/qdevice/net/nssdb
CLUSTER=testcluster

WORK=$(mktemp -d /tmp/test-certutil.XXXXXX) || exit 1
QNETD_PID=""
# Topmost directory created for $ETC (removed at exit), when it did not exist
ETC_CREATED=""

cleanup() {
    if [ -n "$QNETD_PID" ]; then
        kill "$QNETD_PID" 2>/dev/null
        wait "$QNETD_PID" 2>/dev/null
    fi
    umount "$ETC/qdevice" 2>/dev/null
    umount "$ETC" 2>/dev/null
    [ -n "$ETC_CREATED" ] && rm -rf "$ETC_CREATED"
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! [ -d "$ETC" ]; then
    ETC_CREATED=$ETC
    while ! [ -d "$(dirname "$ETC_CREATED")" ]; do
        ETC_CREATED=$(dirname "$ETC_CREATED")
    done
    mkdir -p "$ETC" || exit 1
fi
mount -t tmpfs -o mode=0755 none "$ETC" || {
    echo "SKIP: can't mount tmpfs on $ETC"
    exit 77
}

# Counters, checks, database probes, the qnetd helpers and the TLS client.
# shellcheck source=tests/certutil/lib.sh
. "$SRC_DIR/tests/certutil/lib.sh"

QN=$QNETD_CERTUTIL
QD=$QDEVICE_CERTUTIL
echo "# qnetd certutil:   $QN"
echo "# qdevice certutil: $QD"
echo "# database dir:     $ETC"

cd "$WORK" || exit 1
echo "not a certificate request" > "$WORK/garbage"

#
# Usage and argument errors
#
run 0 "qnetd-certutil -h prints usage" "$QN" -h &&
    check "qnetd-certutil usage lists -i, -s, -c, -G, -n" \
        eval 'grep -q -- "-i" "$WORK/out" && grep -q -- "-s" "$WORK/out" &&
            grep -q -- "-G" "$WORK/out" && grep -q -- "-c" "$WORK/out" && grep -q -- "-n" "$WORK/out"'
run 0 "qnetd-certutil without operation prints usage" "$QN"
check "qnetd-certutil without operation: usage on stdout" test -s "$WORK/out"
run 1 "qnetd-certutil rejects a bad option" "$QN" -z &&
    check "qnetd-certutil bad option message" grep_q "Invalid option" "$WORK/err"
run 1 "qnetd-certutil -c without argument" "$QN" -s -c
run 0 "qdevice-net-certutil -h prints usage" "$QD" -h
if extension; then
    check "qdevice-net-certutil usage does not advertise -s (D22)" \
        eval '! grep -q -e "|-s" -e "^ *-s[ \t]" "$WORK/out"'
    check "qdevice-net-certutil usage documents -S and -C" \
        eval 'grep -q -e "-S ssh_command" "$WORK/out" && grep -q -e "-C scp_command" "$WORK/out"'
    check "qdevice-net-certutil usage documents -R (renewal)" \
        eval 'grep -q -e "-R -H qnetd_host" "$WORK/out" && grep -q -e "^ -R  " "$WORK/out"'
    run 2 "qdevice-net-certutil -R without -H" "$QD" -R -d "$WORK/no-such-db" &&
        check "-R without -H says so" grep_q "specify the QNetd host (-H)" "$WORK/err"
    run 1 "qdevice-net-certutil -R without a database" \
        env QDEVICE_NET_ENROLL=/bin/true "$QD" -R -H 127.0.0.1 -d "$WORK/no-such-db" &&
        check "-R without a database says so" grep_q "database doesn't exist" "$WORK/err"
    check "-R without a database created nothing" test ! -e "$WORK/no-such-db"
fi
run 0 "qdevice-net-certutil without operation prints usage" "$QD"
run 1 "qdevice-net-certutil rejects -s" "$QD" -s
run 1 "qdevice-net-certutil rejects a bad option" "$QD" -x
run 1 "qdevice-net-certutil -n without argument" "$QD" -r -n

#
# Errors before any database exists
#
run 2 "qnetd -s without request file" "$QN" -s -n "$CLUSTER"
run 2 "qnetd -s with missing request file" "$QN" -s -c "$WORK/nonexistent.crq" -n "$CLUSTER"
run 2 "qnetd -s without cluster name" "$QN" -s -c "$WORK/garbage"
run 1 "qnetd -s without database" "$QN" -s -c "$WORK/garbage" -n "$CLUSTER" &&
    check "qnetd -s without database: message" grep_q "-i" "$WORK/err"
check "qnetd -s without database creates nothing" test ! -e "$QNETD_DB/cluster-$CLUSTER.crt"
run 2 "node -i without CA file" "$QD" -i
run 2 "node -i with missing CA file" "$QD" -i -c "$WORK/nonexistent.crt"
run 2 "node -r without cluster name" "$QD" -r
run 1 "node -r without database" "$QD" -r -n "$CLUSTER"
run 2 "node -M without certificate file" "$QD" -M
run 1 "node -M without database" "$QD" -M -c "$WORK/garbage"
run 2 "node -m without PKCS#12 file" "$QD" -m
run 1 "node -m without database" "$QD" -m -c "$WORK/garbage"
run 2 "node -Q without cluster name" "$QD" -Q qnetd n1
run 2 "node -Q without QNetd host" "$QD" -Q -n "$CLUSTER"
run 2 "node -Q without nodes" "$QD" -Q -n "$CLUSTER" qnetd

#
# QNetd host: -i
#
run 0 "qnetd -i creates the QNetd CA and server certificate" "$QN" -i
for f in cert9.db key4.db pkcs11.txt pwdfile.txt noise.txt serial.txt qnetd-cacert.crt; do
    check "qnetd -i created $f" test -f "$QNETD_DB/$f"
done
check "qnetd database directory mode 0770" mode_is "$QNETD_DB" 770
check "qnetd database files mode 0660" all_files_mode "$QNETD_DB" 660 serial.txt
check "qnetd pwdfile.txt is empty" file_is_empty "$QNETD_DB/pwdfile.txt"
check "qnetd noise.txt is a SHA-1 hex line" \
    eval '[ "$(wc -l < "$QNETD_DB/noise.txt")" -eq 1 ] && grep -q "^[0-9a-f]\{40\}\$" "$QNETD_DB/noise.txt"'
check "qnetd serial.txt is 102 after CA (101) and server cert (102)" \
    eval '[ "$(cat "$QNETD_DB/serial.txt")" = 102 ]'
check "QNet CA trust flags CTu,u,u" eval '[ "$(trust_of "$QNETD_DB" "QNet CA")" = "CTu,u,u" ]'
check "QNetd Cert trust flags u,u,u" eval '[ "$(trust_of "$QNETD_DB" "QNetd Cert")" = "u,u,u" ]'
check "QNet CA subject CN=QNet CA" eval '[ "$(cert_field "$QNETD_DB" "QNet CA" Subject)" = "CN=QNet CA" ]'
check "QNet CA is self-signed" eval '[ "$(cert_field "$QNETD_DB" "QNet CA" Issuer)" = "CN=QNet CA" ]'
check "QNet CA serial 101" eval '[ "$(cert_field "$QNETD_DB" "QNet CA" Serial)" = 101 ]'
check "QNet CA has a critical CA basic constraints extension" \
    eval 'certutil -L -d "sql:$QNETD_DB" -n "QNet CA" |
        grep -A 2 "Certificate Basic Constraints" | grep -q "Critical: True" &&
        certutil -L -d "sql:$QNETD_DB" -n "QNet CA" | grep -q "Is a CA"'
check "QNet CA valid for 100 years (1200 months)" validity_100y "$QNETD_DB" "QNet CA"
check "QNetd Cert subject CN=Qnetd Server" \
    eval '[ "$(cert_field "$QNETD_DB" "QNetd Cert" Subject)" = "CN=Qnetd Server" ]'
check "QNetd Cert issued by CN=QNet CA" \
    eval '[ "$(cert_field "$QNETD_DB" "QNetd Cert" Issuer)" = "CN=QNet CA" ]'
check "QNetd Cert serial 102" eval '[ "$(cert_field "$QNETD_DB" "QNetd Cert" Serial)" = 102 ]'
check "QNetd Cert valid for 100 years" validity_100y "$QNETD_DB" "QNetd Cert"
check "QNetd Cert has its private key" has_key_for "$QNETD_DB" "QNetd Cert"
check "QNetd Cert key is ECDSA P-256, QNet CA key RSA" \
    eval 'certutil -L -d "sql:$QNETD_DB" -n "QNetd Cert" |
        grep -A2 "Public Key Algorithm: X9.62 elliptic curve" |
        grep -q "06:08:2a:86:48:ce:3d:03:01:07" &&
        certutil -L -d "sql:$QNETD_DB" -n "QNet CA" |
        grep -q "Public Key Algorithm: PKCS #1 RSA Encryption"' 
check "QNetd Cert is a valid SSL server certificate (certutil -V -u V)" \
    cert_valid_for "$QNETD_DB" "QNetd Cert" V
check "qnetd-cacert.crt holds a readable dump and a PEM certificate" \
    eval 'grep -q "Subject: \"CN=QNet CA\"" "$QNETD_DB/qnetd-cacert.crt" &&
        grep -q "^-----BEGIN CERTIFICATE-----\$" "$QNETD_DB/qnetd-cacert.crt" &&
        grep -q "^-----END CERTIFICATE-----\$" "$QNETD_DB/qnetd-cacert.crt"'
check "qnetd -i output names the exported CA file" grep_q "qnetd-cacert.crt" "$WORK/out"

cp "$QNETD_DB/cert9.db" "$WORK/cert9.before"
run 1 "qnetd -i refuses a second initialization" "$QN" -i &&
    check "qnetd second -i: message says the database exists" grep_q "already exists" "$WORK/err"
check "qnetd second -i left the database untouched" \
    eval 'cmp -s "$WORK/cert9.before" "$QNETD_DB/cert9.db" && [ "$(cat "$QNETD_DB/serial.txt")" = 102 ]'
cp "$QNETD_DB/qnetd-cacert.crt" "$WORK/qnetd-cacert.crt"

#
# Node 1: -i, -r
#
use_node 1
run 0 "node1 -i -c qnetd-cacert.crt" "$QD" -i -c "$WORK/qnetd-cacert.crt"
for f in cert9.db key4.db pkcs11.txt pwdfile.txt noise.txt; do
    check "node1 -i created $f" test -f "$NODE_DB/$f"
done
check "node database directory mode 0770" mode_is "$NODE_DB" 770
check "node database files mode 0660" all_files_mode "$NODE_DB" 660
check "node pwdfile.txt is empty" file_is_empty "$NODE_DB/pwdfile.txt"
check "node has no serial.txt" test ! -e "$NODE_DB/serial.txt"
check "node QNet CA trust flags CT,c,c" eval '[ "$(trust_of "$NODE_DB" "QNet CA")" = "CT,c,c" ]'
check "node QNet CA subject CN=QNet CA" eval '[ "$(cert_field "$NODE_DB" "QNet CA" Subject)" = "CN=QNet CA" ]'
run 1 "node1 -i refuses a second initialization" "$QD" -i -c "$WORK/qnetd-cacert.crt"

run 0 "node1 -r -n $CLUSTER" "$QD" -r -n "$CLUSTER"
check "node1 -r created qdevice-net-node.crq" test -s "$NODE_DB/qdevice-net-node.crq"
check "certificate request subject is CN=$CLUSTER" \
    eval '[ "$(crq_subject "$NODE_DB/qdevice-net-node.crq")" = "CN=$CLUSTER" ]'
check "certificate request is DER encoded" not_grep_q "BEGIN" "$NODE_DB/qdevice-net-node.crq"
cp "$NODE_DB/qdevice-net-node.crq" "$WORK/node.crq"

#
# QNetd host: -s
#
run 0 "qnetd -s -c REQ -n $CLUSTER signs the request" "$QN" -s -c "$WORK/node.crq" -n "$CLUSTER"
CRT=$QNETD_DB/cluster-$CLUSTER.crt
check "qnetd -s created cluster-$CLUSTER.crt" test -s "$CRT"
check "qnetd -s: serial.txt is 103" eval '[ "$(cat "$QNETD_DB/serial.txt")" = 103 ]'
if extension; then
    check "qnetd -s with matching CN prints no warning" not_grep_q "arning" "$WORK/err"
fi
cp "$CRT" "$WORK/cluster.crt"

run 0 "qnetd -s with a cluster name different from the request's CN still signs" \
    "$QN" -s -c "$WORK/node.crq" -n other
check "qnetd -s mismatch: cluster-other.crt created" test -s "$QNETD_DB/cluster-other.crt"
if extension; then
    check "qnetd -s mismatch: warns about the CN (D22)" grep_q "CN=$CLUSTER" "$WORK/err"
    run nz "qnetd -s with an invalid request fails" "$QN" -s -c "$WORK/garbage" -n broken
    check "qnetd -s invalid request leaves no certificate file" test ! -e "$QNETD_DB/cluster-broken.crt"

    # PEM encoded request
    if command -v openssl >/dev/null 2>&1; then
        openssl req -inform DER -in "$WORK/node.crq" -outform PEM -out "$WORK/node.pem" 2>/dev/null
        run 0 "qnetd -s accepts a PEM encoded request" "$QN" -s -c "$WORK/node.pem" -n pem
        check "qnetd -s PEM request: certificate created" test -s "$QNETD_DB/cluster-pem.crt"
    else
        skip "qnetd -s with a PEM request (no openssl)"
    fi

    # Serial numbers are unique when signing in parallel
    before=$(cat "$QNETD_DB/serial.txt")
    pids=""
    for i in 1 2 3 4 5 6; do
        "$QN" -s -c "$WORK/node.crq" -n "par$i" > /dev/null 2>&1 &
        pids="$pids $!"
    done
    # shellcheck disable=SC2086
    wait $pids
    after=$(cat "$QNETD_DB/serial.txt")
    check "parallel signing: serial.txt advanced by 6 ($before -> $after)" \
        eval '[ "$after" -eq $((before + 6)) ]'
    serials=""
    for i in 1 2 3 4 5 6; do
        mkdir -p "$WORK/ser$i"
        certutil -N -d "sql:$WORK/ser$i" --empty-password > /dev/null 2>&1
        certutil -A -d "sql:$WORK/ser$i" -n c -t ",," -i "$QNETD_DB/cluster-par$i.crt" > /dev/null 2>&1
        s=$(cert_field "$WORK/ser$i" c Serial)
        serials="$serials $s"
    done
    check "parallel signing: six distinct serial numbers ($serials )" \
        eval '[ "$(printf "%s\n" $serials | sort -u | grep -c .)" -eq 6 ]'
fi

#
# Node 1: -M
#
run 0 "node1 -M -c cluster-$CLUSTER.crt" "$QD" -M -c "$WORK/cluster.crt"
check "node1 Cluster Cert trust flags u,u,u" eval '[ "$(trust_of "$NODE_DB" "Cluster Cert")" = "u,u,u" ]'
check "node1 Cluster Cert subject CN=$CLUSTER" \
    eval '[ "$(cert_field "$NODE_DB" "Cluster Cert" Subject)" = "CN=$CLUSTER" ]'
check "node1 Cluster Cert issued by CN=QNet CA" \
    eval '[ "$(cert_field "$NODE_DB" "Cluster Cert" Issuer)" = "CN=QNet CA" ]'
check "node1 Cluster Cert serial 103" eval '[ "$(cert_field "$NODE_DB" "Cluster Cert" Serial)" = 103 ]'
check "node1 Cluster Cert valid for 100 years" validity_100y "$NODE_DB" "Cluster Cert"
check "node1 Cluster Cert has its private key" has_key_for "$NODE_DB" "Cluster Cert"
check "node1 Cluster Cert chains to QNet CA (certutil -V -u C)" \
    cert_valid_for "$NODE_DB" "Cluster Cert" C
check "node1 -M created qdevice-net-node.p12" test -s "$NODE_DB/qdevice-net-node.p12"
check "qdevice-net-node.p12 mode 0600" mode_is "$NODE_DB/qdevice-net-node.p12" 600
cp "$NODE_DB/qdevice-net-node.p12" "$WORK/node.p12"

# The QNetd database accepts the cluster certificate as an SSL client
mkdir -p "$WORK/qnetd-copy"
cp "$QNETD_DB"/cert9.db "$QNETD_DB"/key4.db "$QNETD_DB"/pkcs11.txt "$WORK/qnetd-copy/"
certutil -A -d "sql:$WORK/qnetd-copy" -n client -t ",," -i "$WORK/cluster.crt" > /dev/null 2>&1
check "cluster certificate is a valid SSL client for the QNetd database (certutil -V -u C)" \
    cert_valid_for "$WORK/qnetd-copy" client C

#
# Node 2: -m
#
use_node 2
run 1 "node2 -m without database" "$QD" -m -c "$WORK/node.p12"
run 0 "node2 -i -c qnetd-cacert.crt" "$QD" -i -c "$WORK/qnetd-cacert.crt"
run 0 "node2 -m -c qdevice-net-node.p12" "$QD" -m -c "$WORK/node.p12"
check "node2 Cluster Cert trust flags u,u,u" eval '[ "$(trust_of "$NODE_DB" "Cluster Cert")" = "u,u,u" ]'
check "node2 QNet CA trust flags CT,c,c" eval '[ "$(trust_of "$NODE_DB" "QNet CA")" = "CT,c,c" ]'
check "node2 Cluster Cert subject CN=$CLUSTER" \
    eval '[ "$(cert_field "$NODE_DB" "Cluster Cert" Subject)" = "CN=$CLUSTER" ]'
check "node2 Cluster Cert has its private key" has_key_for "$NODE_DB" "Cluster Cert"
check "node2 Cluster Cert chains to QNet CA (certutil -V -u C)" \
    cert_valid_for "$NODE_DB" "Cluster Cert" C
check "node2 database files mode 0660" all_files_mode "$NODE_DB" 660
if extension; then
    use_node 3
    run 0 "node3 -i" "$QD" -i -c "$WORK/qnetd-cacert.crt"
    run nz "node3 -m with an invalid PKCS#12 file fails" "$QD" -m -c "$WORK/garbage"
    run nz "node3 -M with an invalid certificate fails" "$QD" -M -c "$WORK/garbage"
    check "node3 -M failure leaves no PKCS#12 file" test ! -e "$NODE_DB/qdevice-net-node.p12"
    use_node 4
    run nz "node4 -i with an invalid CA certificate fails" "$QD" -i -c "$WORK/garbage"
    check "node4 failed -i leaves no database behind" \
        eval '! [ -e "$NODE_DB/cert9.db" ] && ! [ -e "$NODE_DB/key4.db" ]'
    run 0 "node4 -i works after the failed attempt" "$QD" -i -c "$WORK/qnetd-cacert.crt"
fi

#
# -G and ownership: files get the owner and group of the qnetd config dir
#
mkdir -p "$WORK/qnetd-saved"
mount --bind "$WORK/qnetd-saved" "$ETC/qnetd"
chown 0:4321 "$ETC/qnetd"
chmod 0750 "$ETC/qnetd"
run 0 "qnetd -i -G with a group-owned config dir" "$QN" -i -G
check "-G: database directory mode 0750" mode_is "$QNETD_DB" 750
check "-G: database files mode 0640" all_files_mode "$QNETD_DB" 640 serial.txt
check "-G: files owned by the config dir's owner and group (0:4321)" all_files_owner "$QNETD_DB" 0:4321
run 0 "-G: qnetd -s" "$QN" -s -c "$WORK/node.crq" -n "$CLUSTER"
check "-G: signed certificate owned by 0:4321" owner_is "$QNETD_DB/cluster-$CLUSTER.crt" 0:4321
umount "$ETC/qnetd"

#
# Quick start (-Q) through fake ssh/scp commands given with -S and -C: each
# host is a directory that is bind-mounted over the configuration directory
# in its own mount namespace.
#
if extension; then
    QS=$WORK/qs
    mkdir -p "$QS/bin" "$QS/hosts"
    ln -s "$QN" "$QS/bin/corosync-qnetd-certutil"
    ln -s "$QD" "$QS/bin/corosync-qdevice-net-certutil"
    cat > "$QS/fake-ssh" <<'EOF'
#!/bin/bash
# fake-ssh [options] [user@]host command: run command "on" host
while [ "$#" -gt 0 ]; do
    case "$1" in
        -o|-p|-i|-l) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
echo "ssh $*" >> "$QS_DIR/ssh.log"
host=${1#*@}
shift
mkdir -p "$QS_DIR/hosts/$host"
exec unshare -m bash -c 'mount --bind "$1" "$2" && PATH="$3:$PATH" && eval "$4"' \
    fake-ssh "$QS_DIR/hosts/$host" "$QS_ETC" "$QS_DIR/bin" "$*"
EOF
    cat > "$QS/fake-scp" <<'EOF'
#!/bin/bash
# fake-scp [options] src dst, one of them [user@]host:path
while [ "$#" -gt 0 ]; do
    case "$1" in
        -o|-P|-i|-l) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
map() {
    case "$1" in
        *:*)
            hostpart=${1%%:*}
            path=${1#*:}
            host=${hostpart#*@}
            case "$path" in
                "$QS_ETC"/*) echo "$QS_DIR/hosts/$host/${path#"$QS_ETC"/}" ;;
                *) echo "$path" ;;
            esac
            ;;
        *) echo "$1" ;;
    esac
}
echo "scp $*" >> "$QS_DIR/ssh.log"
exec cp "$(map "$1")" "$(map "$2")"
EOF
    chmod 755 "$QS/fake-ssh" "$QS/fake-scp"
    export QS_DIR=$QS QS_ETC=$ETC

    run 0 "quick start -Q with -S/-C (qnetd host + 3 nodes)" \
        "$QD" -Q -n "$CLUSTER" -S "$QS/fake-ssh -o BatchMode=yes" -C "$QS/fake-scp -q" \
        qnetd n1 n2 n3
    check "quick start: qnetd host has the CA and the signed cluster certificate" \
        eval '[ "$(trust_of "$QS/hosts/qnetd/qnetd/nssdb" "QNet CA")" = "CTu,u,u" ] &&
            test -s "$QS/hosts/qnetd/qnetd/nssdb/cluster-$CLUSTER.crt"'
    for n in n1 n2 n3; do
        check "quick start: $n has Cluster Cert (u,u,u) with key, chaining to QNet CA" \
            eval '[ "$(trust_of "$QS/hosts/$n/qdevice/net/nssdb" "Cluster Cert")" = "u,u,u" ] &&
                has_key_for "$QS/hosts/$n/qdevice/net/nssdb" "Cluster Cert" &&
                cert_valid_for "$QS/hosts/$n/qdevice/net/nssdb" "Cluster Cert" C'
    done
    check "quick start: ssh and scp destinations are root@host" \
        eval 'grep -q "^ssh root@" "$QS/ssh.log" && ! grep -q "^ssh [^r]" "$QS/ssh.log" &&
            grep -q "^scp .*root@" "$QS/ssh.log" && ! grep -E -q "^scp .*(^| )[^ @/]+:" "$QS/ssh.log"'
    check "quick start: no temporary files left on the hosts" \
        eval '! ls -d /tmp/corosync-qdevice-certutil.* > /dev/null 2>&1'
    run 1 "quick start refuses nodes that already have a database" \
        "$QD" -Q -n "$CLUSTER" -S "$QS/fake-ssh" -C "$QS/fake-scp" qnetd n1 n4
    check "quick start refusal left n4 untouched" test ! -e "$QS/hosts/n4/qdevice"
    run 0 "quick start -Q -d DIR puts the node databases in DIR" \
        "$QD" -Q -n "$CLUSTER" -d "$ETC/alt/nssdb" -S "$QS/fake-ssh" -C "$QS/fake-scp" \
        qnetd n5 n6
    for n in n5 n6; do
        check "quick start -d: $n has Cluster Cert with key in DIR, none in the default" \
            eval '[ "$(trust_of "$QS/hosts/$n/alt/nssdb" "Cluster Cert")" = "u,u,u" ] &&
                has_key_for "$QS/hosts/$n/alt/nssdb" "Cluster Cert" &&
                ! [ -e "$QS/hosts/$n/qdevice/net/nssdb" ]'
    done
else
    skip "quick start with -S/-C (extension)"
fi

#
# -d DIR on every operation: DIR is the database directory itself (what
# nss_db_dir names), with the same files and nicknames inside; the default
# databases are not touched.
#
DQ=$WORK/alt/qnetd-db
DN1=$WORK/alt/node1/db
DN2=$WORK/alt/node2/db
if extension; then
    run 0 "qnetd-certutil -h documents -d" "$QN" -h &&
        check "qnetd-certutil usage lists -d dir" grep_q "-d dir" "$WORK/out"
    run 0 "qdevice-net-certutil -h documents -d" "$QD" -h &&
        check "qdevice-net-certutil usage lists -d dir" grep_q "-d dir" "$WORK/out"
    run 0 "qdevice-net-certutil -h -d DIR names DIR as the database directory" \
        "$QD" -h -d "$DN1" &&
        check "usage with -d: Database directory: DIR" grep_q "^Database directory: $DN1\$" "$WORK/out"
    run 2 "qnetd -i -d '' is refused" "$QN" -i -d ""
    umount "$ETC/qdevice" 2>/dev/null
    cp "$QNETD_DB/cert9.db" "$WORK/default-cert9.before"
    qnetd_default_files=$(ls "$QNETD_DB")
    run 0 "qnetd -i -d DIR/ (trailing slash)" "$QN" -i -d "$DQ/"
    check "qnetd -i -d: output names DIR/qnetd-cacert.crt" grep_q "^QNetd CA certificate is exported as $DQ/qnetd-cacert.crt\$" "$WORK/out"
    for f in cert9.db key4.db pkcs11.txt pwdfile.txt noise.txt serial.txt qnetd-cacert.crt; do
        check "qnetd -i -d created DIR/$f" test -f "$DQ/$f"
    done
    check "qnetd -i -d: DIR mode 0770, files 0660" \
        eval 'mode_is "$DQ" 770 && all_files_mode "$DQ" 660 serial.txt'
    check "qnetd -i -d: QNet CA (CTu,u,u) and QNetd Cert (u,u,u) in DIR" \
        eval '[ "$(trust_of "$DQ" "QNet CA")" = "CTu,u,u" ] && [ "$(trust_of "$DQ" "QNetd Cert")" = "u,u,u" ] &&
            [ "$(cert_field "$DQ" "QNetd Cert" Subject)" = "CN=Qnetd Server" ]'
    run 1 "qnetd -i -d refuses a second initialization of DIR" "$QN" -i -d "$DQ"
    run 1 "qnetd -s -d without a database there" "$QN" -s -d "$WORK/alt/none" -c "$WORK/node.crq" -n dcl
    run 1 "node -r -d without a database there" "$QD" -r -d "$WORK/alt/none" -n dcl
    check "nothing was created in a -d DIR without a database" test ! -e "$WORK/alt/none"

    run 0 "node1 -i -d DIR -c DIR/qnetd-cacert.crt" "$QD" -i -d "$DN1" -c "$DQ/qnetd-cacert.crt"
    check "node1 -i -d: QNet CA (CT,c,c), DIR mode 0770, files 0660" \
        eval '[ "$(trust_of "$DN1" "QNet CA")" = "CT,c,c" ] && mode_is "$DN1" 770 && all_files_mode "$DN1" 660'
    run 0 "node1 -r -d DIR -n dcl" "$QD" -r -d "$DN1" -n dcl
    check "node1 -r -d: request in DIR with subject CN=dcl" \
        eval '[ "$(crq_subject "$DN1/qdevice-net-node.crq")" = "CN=dcl" ]'
    run 0 "qnetd -s -d DIR signs" "$QN" -s -d "$DQ" -c "$DN1/qdevice-net-node.crq" -n dcl
    check "qnetd -s -d: DIR/cluster-dcl.crt, DIR/serial.txt 103" \
        eval 'test -s "$DQ/cluster-dcl.crt" && [ "$(cat "$DQ/serial.txt")" = 103 ]'
    run 0 "node1 -M -d DIR" "$QD" -M -d "$DN1" -c "$DQ/cluster-dcl.crt"
    check "node1 -M -d: Cluster Cert (u,u,u) with key chaining to QNet CA, p12 in DIR" \
        eval '[ "$(trust_of "$DN1" "Cluster Cert")" = "u,u,u" ] && has_key_for "$DN1" "Cluster Cert" &&
            cert_valid_for "$DN1" "Cluster Cert" C && test -s "$DN1/qdevice-net-node.p12"'
    # -R: a new server key and certificate from the same CA
    ca_before=$(certutil -L -d "sql:$DQ" -n "QNet CA" -a)
    run 0 "qnetd -R -d DIR renews the server certificate" "$QN" -R -d "$DQ" &&
        check "qnetd -R: output says to reload corosync-qnetd" grep_q "Reload corosync-qnetd" "$WORK/out"
    check "qnetd -R: QNetd Cert serial 104, CN=Qnetd Server, a valid SSL server certificate" \
        eval '[ "$(cert_field "$DQ" "QNetd Cert" Serial)" = 104 ] &&
            [ "$(cert_field "$DQ" "QNetd Cert" Subject)" = "CN=Qnetd Server" ] &&
            cert_valid_for "$DQ" "QNetd Cert" V && [ "$(trust_of "$DQ" "QNetd Cert")" = "u,u,u" ]'
    check "qnetd -R: one server key left, CA unchanged, no backup file left" \
        eval '[ "$(certutil -K -d "sql:$DQ" -f "$DQ/pwdfile.txt" 2>/dev/null | grep -c "QNetd Cert")" = 1 ] &&
            [ "$(certutil -L -d "sql:$DQ" -n "QNet CA" -a)" = "$ca_before" ] &&
            ! ls -a "$DQ" | grep -q backup'
    run 1 "qnetd -R without a database" "$QN" -R -d "$WORK/alt/none"
    check "qnetd -R without a database created nothing" test ! -e "$WORK/alt/none"
    # Enrolment tokens (-t), kept beside the -d database
    if command -v openssl >/dev/null 2>&1; then
        run 2 "qnetd -t without a cluster name" "$QN" -t -d "$DQ"
        run 2 "qnetd -t -T 0 is refused" "$QN" -t -n dcl -T 0 -d "$DQ"
        run 2 "qnetd -t -u x is refused" "$QN" -t -n dcl -u x -d "$DQ"
        run 2 "qnetd -t with a cluster name unfit for a token" "$QN" -t -n "a b" -d "$DQ"
        run 1 "qnetd -t without a database" "$QN" -t -n dcl -d "$WORK/alt/none"
        run 0 "qnetd -t -n dcl -T 600 -u 2 prints a token" "$QN" -t -n dcl -T 600 -u 2 -d "$DQ"
        tok=$(cat "$WORK/out")
        check "token is qnetenroll1.ID.SECRET.CAPIN on one line" \
            eval '[ "$(wc -l < "$WORK/out")" = 1 ] &&
                printf "%s" "$tok" | grep -E -q "^qnetenroll1\.[0-9a-f]{8}\.[0-9a-f]{64}\.[0-9a-f]{64}\$"'
        tok_id=$(printf '%s' "$tok" | cut -d. -f2)
        tok_secret=$(printf '%s' "$tok" | cut -d. -f3)
        tok_pin=$(printf '%s' "$tok" | cut -d. -f4)
        check "token pins the SHA-256 of the QNet CA's public key (SubjectPublicKeyInfo)" \
            eval '[ "$tok_pin" = "$(sed -n "/-----BEGIN/,\$p" "$DQ/qnetd-cacert.crt" |
                openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d " " -f 1)" ]'
        check "token file beside the database keeps the secret's hash, not the secret" \
            eval 'grep -q "^$tok_id dcl [0-9]* 2 active $(printf "%s" "$tok_secret" | sha256sum | cut -d " " -f 1) " "$DQ/enroll-tokens" &&
                ! grep -q "$tok_secret" "$DQ/enroll-tokens" && mode_is "$DQ/enroll-tokens" 640'
        run 0 "qnetd -t -n dcl -T 1 (a token that expires at once)" "$QN" -t -n dcl -T 1 -d "$DQ"
        short_id=$(cut -d. -f2 "$WORK/out")
        run 0 "qnetd -t -n other: a third token" "$QN" -t -n other -d "$DQ"
        other_id=$(cut -d. -f2 "$WORK/out")
        check "three different token ids" \
            eval '[ "$tok_id" != "$short_id" ] && [ "$short_id" != "$other_id" ] && [ "$tok_id" != "$other_id" ]'
        run 0 "qnetd -t -x ID revokes a token" "$QN" -t -x "$other_id" -d "$DQ"
        run 1 "qnetd -t -x of an unknown token" "$QN" -t -x deadbeef -d "$DQ"
        run 2 "qnetd -t -x of an invalid id" "$QN" -t -x "x;y" -d "$DQ"
        sleep 2
        run 0 "qnetd -t -l lists the tokens" "$QN" -t -l -d "$DQ"
        check "-t -l: header, then active (2 uses), expired and revoked tokens" \
            eval 'head -n 1 "$WORK/out" | grep -q "^ID  *CLUSTER  *EXPIRES  *USES LEFT  *STATE\$" &&
                grep -q "^$tok_id  *dcl  *[0-9-]* [0-9:]* UTC  *2  *active\$" "$WORK/out" &&
                grep -q "^$short_id  *dcl .* expired\$" "$WORK/out" &&
                grep -q "^$other_id  *other .* revoked\$" "$WORK/out" && [ "$(wc -l < "$WORK/out")" = 4 ]'
        check "tokens are not shown by -t -l" not_grep_q "$tok_secret" "$WORK/out"
    else
        skip "enrolment tokens (no openssl)"
    fi
    run 0 "node2 -i -d DIR" "$QD" -i -d "$DN2" -c "$DQ/qnetd-cacert.crt"
    run 0 "node2 -m -d DIR" "$QD" -m -d "$DN2" -c "$DN1/qdevice-net-node.p12"
    check "node2 -m -d: Cluster Cert with key chaining to QNet CA" \
        eval 'has_key_for "$DN2" "Cluster Cert" && cert_valid_for "$DN2" "Cluster Cert" C'
    check "-d: the default qnetd database is untouched" \
        eval 'cmp -s "$WORK/default-cert9.before" "$QNETD_DB/cert9.db" &&
            [ "$(ls "$QNETD_DB")" = "$qnetd_default_files" ]'
    check "-d: no default node database was created" test ! -e "$NODE_DB"

    # Created files take the owner and group of the directory holding DIR
    mkdir -p "$WORK/alt/grp"
    chown 0:4321 "$WORK/alt/grp"
    run 0 "qnetd -i -G -d DIR in a group-owned directory" "$QN" -i -G -d "$WORK/alt/grp/db"
    check "-G -d: DIR 0750, files 0640, owned by 0:4321" \
        eval 'mode_is "$WORK/alt/grp/db" 750 && all_files_mode "$WORK/alt/grp/db" 640 serial.txt &&
            all_files_owner "$WORK/alt/grp/db" 0:4321'
else
    skip "-d DIR (extension)"
fi

#
# A corosync-qnetd accepts the database: it loads "QNetd Cert" and accepts a
# TLS client presenting the cluster certificate for the right cluster only.
#
if [ "$QNETD_BIN" = none ]; then
    skip "corosync-qnetd checks (no corosync-qnetd)"
elif [ "${CERTUTIL_TEST_NO_NETNS:-}" = 1 ]; then
    skip "corosync-qnetd checks (no private network namespace)"
elif ! ip link set lo up 2>/dev/null; then
    skip "corosync-qnetd checks (can't bring up loopback)"
else
    PORT=15403
    if start_qnetd "$PORT"; then
        pass "corosync-qnetd ($QNETD_BIN) starts with -s req on the database and loads QNetd Cert"
        check "corosync-qnetd logged no error or NSS failure" \
            eval '! grep -E -q "^[A-Z][a-z]{2} +[0-9]+ [0-9:]+ +(emerg|alert|crit|error) " "$WORK/qnetd.log"'
        if command -v python3 >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 &&
            openssl pkcs12 -in "$WORK/node.p12" -passin pass: -nodes -clcerts -out "$WORK/client.pem" 2>/dev/null; then
            run 0 "TLS client with the cluster certificate is accepted for cluster $CLUSTER" \
                python3 "$WORK/tlsclient.py" 127.0.0.1 "$PORT" "$CLUSTER" "$WORK/qnetd-cacert.crt" "$WORK/client.pem"
            run nz "TLS client with the cluster certificate is refused for another cluster name" \
                python3 "$WORK/tlsclient.py" 127.0.0.1 "$PORT" other "$WORK/qnetd-cacert.crt" "$WORK/client.pem"
        else
            skip "TLS client checks (no python3 or openssl)"
        fi
        check "corosync-qnetd still running" kill -0 "$QNETD_PID"
        stop_qnetd
    else
        fail "corosync-qnetd ($QNETD_BIN) starts with -s req on the database"
        sed 's/^/    | /' "$WORK/qnetd.log" | head -n 20
    fi

    # Databases made with -d DIR: qnetd with nss_db_dir=DIR accepts a node
    # whose certificate was made in another -d DIR.
    if extension && [ -e "$DN1/qdevice-net-node.p12" ]; then
        if start_qnetd "$((PORT + 2))" "$DQ"; then
            pass "corosync-qnetd starts with nss_db_dir = the -d DIR of qnetd-certutil"
            if command -v python3 >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 &&
                openssl pkcs12 -in "$DN1/qdevice-net-node.p12" -passin pass: -nodes -clcerts \
                    -out "$WORK/client-d.pem" 2>/dev/null; then
                run 0 "TLS client with the certificate made with -d is accepted for cluster dcl" \
                    python3 "$WORK/tlsclient.py" 127.0.0.1 "$((PORT + 2))" dcl "$DQ/qnetd-cacert.crt" "$WORK/client-d.pem"
            else
                skip "TLS client check of -d (no python3 or openssl)"
            fi
            stop_qnetd
        else
            fail "corosync-qnetd starts with nss_db_dir = the -d DIR of qnetd-certutil"
            sed 's/^/    | /' "$WORK/qnetd.log" | head -n 20
        fi
    fi

    # Sanity check of the check: without the server certificate qnetd must fail
    mkdir -p "$WORK/qnetd-nocert"
    mount --bind "$WORK/qnetd-nocert" "$ETC/qnetd"
    "$QN" -i > /dev/null 2>&1
    certutil -D -d "sql:$QNETD_DB" -n "QNetd Cert" > /dev/null 2>&1
    if start_qnetd "$((PORT + 1))"; then
        fail "corosync-qnetd refuses a database without QNetd Cert"
        stop_qnetd
    else
        pass "corosync-qnetd refuses a database without QNetd Cert"
    fi
    umount "$ETC/qnetd"
fi

if [ "$nskip" -gt 0 ]; then
    echo "$npass passed, $nfail failed, $nskip skipped"
else
    echo "$npass passed, $nfail failed"
fi

[ "$nfail" -eq 0 ]
