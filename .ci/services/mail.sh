#!/usr/bin/env bash
# Installs and starts Dovecot (IMAP, LMTP) and Postfix (submission) on 127.0.0.1 with two test users,
# for the email connector's integration tests. Idempotent: rerunning restarts them with the same config.
#
#   IMAP      127.0.0.1:1143 (plain or STARTTLS), 127.0.0.1:1993 (implicit TLS)
#   SMTP      127.0.0.1:2587 submission (STARTTLS offered, AUTH required), 127.0.0.1:2525 relay (no AUTH)
#   users     support@example.test / support-secret, customer@example.test / customer-secret
#   TLS cert  $ROOT/tls/cert.pem (self-signed for 127.0.0.1 and localhost; tests trust it explicitly)
set -euo pipefail

ROOT="${AGENTCONSOLE_MAIL_DIR:-/var/tmp/agentconsole-mail}"
PACKAGES=(dovecot-imapd dovecot-lmtpd postfix openssl)

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n AGENTCONSOLE_MAIL_DIR="$ROOT" bash "$0" "$@"
    fi
    echo "mail.sh: must run as root (installs packages and starts system daemons)" >&2
    exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string mail.example.test" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

getent group vmail >/dev/null || groupadd -g 5000 vmail
getent passwd vmail >/dev/null || useradd -u 5000 -g vmail -d "$ROOT/mail" -s /usr/sbin/nologin vmail

mkdir -p "$ROOT/run" "$ROOT/state" "$ROOT/mail" "$ROOT/tls"
chown vmail:vmail "$ROOT/mail"
chmod 755 "$ROOT" "$ROOT/tls"

if [ ! -s "$ROOT/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$ROOT/tls/key.pem" -out "$ROOT/tls/cert.pem" >/dev/null 2>&1
fi
chmod 644 "$ROOT/tls/cert.pem"
chmod 600 "$ROOT/tls/key.pem"

cat > "$ROOT/users" <<USERS
support@example.test:{PLAIN}support-secret::::::
customer@example.test:{PLAIN}customer-secret::::::
USERS
chmod 640 "$ROOT/users"
chown root:dovecot "$ROOT/users"

dh=""
[ -s /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"

cat > "$ROOT/dovecot.conf" <<CONF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $ROOT/run
state_dir = $ROOT/state
log_path = $ROOT/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_cert = <$ROOT/tls/cert.pem
ssl_key = <$ROOT/tls/key.pem
$dh
disable_plaintext_auth = no
auth_mechanisms = plain login
# Test servers: failed logins answer at once (wrong-password tests would otherwise take 20 s).
auth_failure_delay = 0
first_valid_uid = 5000
mail_location = maildir:$ROOT/mail/%d/%n/Maildir
mail_plugins =
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $ROOT/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $ROOT/users
  default_fields = uid=5000 gid=5000 home=$ROOT/mail/%d/%n
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    auto = subscribe
    special_use = \\Sent
  }
}
service imap-login {
  inet_listener imap {
    port = 1143
  }
  inet_listener imaps {
    port = 1993
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = 2424
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  inet_listener auth-inet {
    port = 12345
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
CONF

# Restart Dovecot from our own config (a second run replaces the first).
if [ -s "$ROOT/run/master.pid" ] && kill -0 "$(cat "$ROOT/run/master.pid")" 2>/dev/null; then
    dovecot -c "$ROOT/dovecot.conf" stop </dev/null >/dev/null 2>&1 || true
    for _ in $(seq 50); do
        kill -0 "$(cat "$ROOT/run/master.pid" 2>/dev/null)" 2>/dev/null || break
        sleep 0.1
    done
fi
dovecot -c "$ROOT/dovecot.conf" </dev/null >/dev/null 2>&1

# Postfix: port 25 moves to 127.0.0.1:2525, submission on 127.0.0.1:2587; example.test goes to LMTP.
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e \
    "inet_interfaces=127.0.0.1" \
    "inet_protocols=ipv4" \
    "myhostname=mail.example.test" \
    "mydestination=localhost" \
    "mynetworks=127.0.0.0/8" \
    "relayhost=" \
    "virtual_mailbox_domains=example.test" \
    "virtual_transport=lmtp:inet:127.0.0.1:2424" \
    "smtpd_sasl_type=dovecot" \
    "smtpd_sasl_path=inet:127.0.0.1:12345" \
    "smtpd_tls_cert_file=$ROOT/tls/cert.pem" \
    "smtpd_tls_key_file=$ROOT/tls/key.pem" \
    "smtpd_tls_security_level=may" \
    "smtputf8_enable=no" \
    "maillog_file=/var/log/postfix-ci.log"
postconf -MX smtp/inet 2>/dev/null || true
postconf -M "127.0.0.1:2525/inet=127.0.0.1:2525 inet n - n - - smtpd"
postconf -M "127.0.0.1:2587/inet=127.0.0.1:2587 inet n - n - - smtpd"
postconf -P "127.0.0.1:2587/inet/smtpd_sasl_auth_enable=yes" \
    "127.0.0.1:2587/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject" \
    "127.0.0.1:2587/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject"
[ -f /etc/aliases.db ] || newaliases
if postfix status >/dev/null 2>&1; then
    postfix reload </dev/null >/dev/null 2>&1
else
    postfix start </dev/null >/dev/null 2>&1
fi

for port in 1143 1993 2424 2525 2587; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || {
        echo "mail.sh: nothing listens on 127.0.0.1:$port; see $ROOT/dovecot.log and /var/log/postfix-ci.log" >&2
        exit 1
    }
done
echo "mail.sh: dovecot and postfix ready (IMAP 1143/1993, submission 2587, cert $ROOT/tls/cert.pem)"
