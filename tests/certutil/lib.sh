# shellcheck shell=bash
# Helpers of tests/certutil/test-certutil.sh, which sources this file after
# it has set WORK, ETC, QNETD_DB, NODE_DB, QNETD_BIN and COMPAT_ONLY.
# Checks are written as single-quoted strings for eval:
# shellcheck disable=SC2016,SC2034,SC2153

npass=0
nfail=0
nskip=0

pass() {
    npass=$((npass + 1))
    echo "PASS: $*"
}

fail() {
    nfail=$((nfail + 1))
    echo "FAIL: $*"
}

skip() {
    nskip=$((nskip + 1))
    echo "SKIP: $*"
}

check() {
    local desc="$1"
    shift

    if "$@"; then
        pass "$desc"
    else
        fail "$desc"
    fi
}

# run WANT DESC CMD...: run CMD (stdout in $WORK/out, stderr in $WORK/err)
# and check its exit status (a number, or "nz" for any non-zero status)
RC=0
run() {
    local want="$1" desc="$2"
    shift 2

    "$@" > "$WORK/out" 2> "$WORK/err" < /dev/null
    RC=$?

    if [ "$want" = nz ] && [ "$RC" -ne 0 ]; then
        pass "$desc (exit $RC)"
        return 0
    fi
    if [ "$want" = "$RC" ]; then
        pass "$desc (exit $RC)"
        return 0
    fi

    fail "$desc (exit $RC, expected $want)"
    sed 's/^/    | /' "$WORK/out" "$WORK/err" | head -n 20
    return 1
}

extension() {
    [ "$COMPAT_ONLY" != 1 ]
}

mode_is() {
    [ "$(stat -c '%a' "$1" 2>/dev/null)" = "$2" ]
}

owner_is() {
    [ "$(stat -c '%u:%g' "$1" 2>/dev/null)" = "$2" ]
}

# trust flags of a nickname in a database
trust_of() {
    certutil -L -d "sql:$1" 2>/dev/null |
        sed -n "s/^$2  *\([^ ]*\)\$/\1/p" | head -n 1
}

# cert_field DB NICKNAME FIELD: Subject/Issuer (without quotes) or Serial
cert_field() {
    local out

    out=$(certutil -L -d "sql:$1" -n "$2" 2>/dev/null) || return 1
    case "$3" in
        Serial) printf '%s\n' "$out" | sed -n 's/^ *Serial Number: \([0-9]*\) .*/\1/p' | head -n 1 ;;
        *) printf '%s\n' "$out" | sed -n "s/^ *$3: \"\(.*\)\"\$/\1/p" | head -n 1 ;;
    esac
}

# "Not Before" and "Not After" years of a certificate differ by 100
validity_100y() {
    local out y1 y2

    out=$(certutil -L -d "sql:$1" -n "$2" 2>/dev/null) || return 1
    y1=$(printf '%s\n' "$out" | sed -n 's/^ *Not Before: .* \([0-9]\{4\}\)$/\1/p')
    y2=$(printf '%s\n' "$out" | sed -n 's/^ *Not After : .* \([0-9]\{4\}\)$/\1/p')
    [ -n "$y1" ] && [ -n "$y2" ] && [ $((y2 - y1)) -eq 100 ]
}

# certutil -V: certificate valid for a usage (C = SSL client, V = SSL server)
cert_valid_for() {
    certutil -V -d "sql:$1" -n "$2" -u "$3" 2>&1 | grep -q 'certificate is valid'
}

# certutil -K names an RSA key after its certificate but lists an EC key as
# "(orphan)"; exporting the certificate with its key works for both.
has_key_for() {
    certutil -K -d "sql:$1" -f "$1/pwdfile.txt" 2>/dev/null | grep -q "$2\$" ||
        pk12util -d "sql:$1" -n "$2" -k "$1/pwdfile.txt" -W "" \
            -o "$WORK/has-key.p12" >/dev/null 2>&1
}

file_is_empty() {
    [ -f "$1" ] && ! [ -s "$1" ]
}

grep_q() {
    grep -q -e "$1" "$2"
}

not_grep_q() {
    ! grep -q -e "$1" "$2"
}

crq_subject() {
    local tool

    for tool in nss-pp pp; do
        if command -v "$tool" >/dev/null 2>&1; then
            "$tool" -t certificate-request -w -i "$1" 2>/dev/null |
                sed -n 's/^ *Subject: "\(.*\)"$/\1/p' | head -n 1
            return
        fi
    done
    if command -v openssl >/dev/null 2>&1; then
        openssl req -in "$1" -inform DER -noout -subject -nameopt RFC2253 2>/dev/null |
            sed 's/^subject=//'
    fi
}

all_files_mode() {
    local dir="$1" mode="$2" f

    for f in cert9.db key4.db pkcs11.txt pwdfile.txt noise.txt "${@:3}"; do
        mode_is "$dir/$f" "$mode" || {
            echo "    | $dir/$f: mode $(stat -c '%a' "$dir/$f" 2>/dev/null), expected $mode"
            return 1
        }
    done
}

all_files_owner() {
    local dir="$1" owner="$2" f

    for f in "$dir" "$dir"/*; do
        owner_is "$f" "$owner" || {
            echo "    | $f: owner $(stat -c '%u:%g' "$f"), expected $owner"
            return 1
        }
    done
}

# Switch the node database directory to that of node N (separate hosts)
use_node() {
    mkdir -p "$WORK/node$1"
    umount "$ETC/qdevice" 2>/dev/null
    mkdir -p "$ETC/qdevice"
    mount --bind "$WORK/node$1" "$ETC/qdevice"
}


start_qnetd() {
    local port="$1" db="${2:-$QNETD_DB}" i

    "$QNETD_BIN" -f -d -s req -l 127.0.0.1 -p "$port" \
        -S "nss_db_dir=$db,lock_file=$WORK/qnetd.pid,local_socket_file=$WORK/qnetd.sock,state_dir=$WORK" \
        > "$WORK/qnetd.log" 2>&1 &
    QNETD_PID=$!
    for i in $(seq 1 50); do
        if ! kill -0 "$QNETD_PID" 2>/dev/null; then
            wait "$QNETD_PID" 2>/dev/null
            QNETD_PID=""
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_qnetd() {
    if [ -n "$QNETD_PID" ]; then
        kill "$QNETD_PID" 2>/dev/null
        wait "$QNETD_PID" 2>/dev/null
        QNETD_PID=""
    fi
}

cat > "$WORK/tlsclient.py" <<'EOF'
# Minimal qdevice-net client: PREINIT, STARTTLS, TLS handshake with the
# cluster certificate, INIT. Exit 0 when INIT_REPLY reports no error.
import socket, ssl, struct, sys

host, port, cluster, cafile, certfile = sys.argv[1:6]

def tlv(t, v):
    return struct.pack(">HH", t, len(v)) + v

def msg(t, body):
    return struct.pack(">HI", t, len(body)) + body

def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed by qnetd")
        data += chunk
    return data

def read_msg(s):
    t, length = struct.unpack(">HI", recv_exact(s, 6))
    body = recv_exact(s, length)
    opts, i = {}, 0
    while i + 4 <= len(body):
        ot, ol = struct.unpack(">HH", body[i:i + 4])
        opts[ot] = body[i + 4:i + 4 + ol]
        i += 4 + ol
    return t, opts

try:
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(msg(0, tlv(0, struct.pack(">I", 1)) + tlv(1, cluster.encode())))
    t, opts = read_msg(s)
    if t != 1:
        print("unexpected reply to PREINIT: type %d" % t)
        sys.exit(1)
    s.sendall(msg(2, tlv(0, struct.pack(">I", 2))))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cafile)
    ctx.load_cert_chain(certfile)
    ts = ctx.wrap_socket(s)
    subject = dict(x[0] for x in ts.getpeercert()["subject"])
    if subject.get("commonName") != "Qnetd Server":
        print("server certificate CN is %r" % subject.get("commonName"))
        sys.exit(1)
    init = (tlv(0, struct.pack(">I", 3)) + tlv(9, struct.pack(">I", 1)) +
            tlv(11, struct.pack(">H", 1)) + tlv(12, struct.pack(">I", 8000)) +
            tlv(21, struct.pack(">BI", 1, 0)) + tlv(13, struct.pack(">IQ", 1, 1)))
    ts.sendall(msg(3, init))
    t, opts = read_msg(ts)
    code = struct.unpack(">H", opts[6])[0] if 6 in opts else -1
    if t == 4 and code == 0:
        print("INIT accepted over TLS")
        sys.exit(0)
    print("INIT refused: message type %d, error code %d" % (t, code))
    sys.exit(1)
except (OSError, EOFError, ssl.SSLError) as e:
    print("connection failed: %s" % e)
    sys.exit(2)
EOF
