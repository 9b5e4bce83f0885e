"""Signing in through LDAP against a real OpenLDAP `slapd` (Debian's `slapd` and `ldap-utils`
packages) started on a free port: the session, the synced profile, the mapped roles."""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from flowdesk.directory.access import FLOWDESK_ADMINS, is_flowdesk_admin
from flowdesk.directory.actions import do_add_role_member
from flowdesk.directory.models import Business, Role, RoleMembership, get_profile
from flowdesk.directory.sso_settings import LDAP_BACKEND, ldap_settings

BASE = "dc=example,dc=org"
ADMIN_DN, ADMIN_PW = f"cn=admin,{BASE}", "slapd-admin-pw"
PASSWORD = "ldap-pw"
CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
suffix "{base}"
rootdn "{admin}"
rootpw {admin_pw}
directory {dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
"""
ENTRIES = f"""\
dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: uid=lara,ou=people,{BASE}
objectClass: inetOrgPerson
uid: lara
cn: Lara Quinn
sn: Quinn
displayName: Lara (QC, ops A)
mail: lara@example.org
userPassword: {PASSWORD}

dn: uid=max,ou=people,{BASE}
objectClass: inetOrgPerson
uid: max
cn: Max Admin
sn: Admin
mail: max@example.org
userPassword: {PASSWORD}

dn: cn=qc,ou=groups,{BASE}
objectClass: groupOfNames
cn: qc
member: uid=lara,ou=people,{BASE}

dn: cn=ops-game-a,ou=groups,{BASE}
objectClass: groupOfNames
cn: ops-game-a
member: uid=lara,ou=people,{BASE}

dn: cn=test-game-b,ou=groups,{BASE}
objectClass: groupOfNames
cn: test-game-b
member: uid=max,ou=people,{BASE}

dn: cn=flowdesk-admins,ou=groups,{BASE}
objectClass: groupOfNames
cn: flowdesk-admins
member: uid=max,ou=people,{BASE}
"""
ROLE_MAP = {
    f"cn=qc,ou=groups,{BASE}": {"role": "QC"},
    f"cn=ops-game-a,ou=groups,{BASE}": {"role": "ops", "business": "game-a"},
    f"cn=test-game-b,ou=groups,{BASE}": {"role": "test", "business": "game-b"},
    f"CN=Flowdesk-Admins,ou=groups,{BASE}": {"permission": FLOWDESK_ADMINS},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen) -> None:
    for _ in range(100):
        assert process.poll() is None, process.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"slapd did not listen on port {port}")


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[str]:
    """A running slapd holding lara (qc, ops-game-a) and max (test-game-b, flowdesk-admins)."""
    if not shutil.which("slapd", path="/usr/sbin:/usr/bin") or not shutil.which("ldapadd"):
        pytest.fail("slapd is missing: apt-get install -y slapd ldap-utils (see the Makefile)")
    work: Path = tmp_path_factory.mktemp("slapd")
    (work / "db").mkdir()
    conf = work / "slapd.conf"
    conf.write_text(CONFIG.format(dir=work, base=BASE, admin=ADMIN_DN, admin_pw=ADMIN_PW))
    port = free_port()
    uri = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        ["/usr/sbin/slapd", "-d", "0", "-h", uri + "/", "-f", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, process)
        subprocess.run(
            ["ldapadd", "-x", "-H", uri, "-D", ADMIN_DN, "-w", ADMIN_PW],
            input=ENTRIES,
            text=True,
            check=True,
            capture_output=True,
        )
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def ldap_login(slapd, settings, demo):
    """The settings FLOWDESK_LDAP_* would give, with the LDAP backend before local accounts."""
    env = {
        "FLOWDESK_LDAP_URI": slapd,
        "FLOWDESK_LDAP_BIND_DN": ADMIN_DN,
        "FLOWDESK_LDAP_BIND_PASSWORD": ADMIN_PW,
        "FLOWDESK_LDAP_USER_BASE": f"ou=people,{BASE}",
        "FLOWDESK_LDAP_GROUP_BASE": f"ou=groups,{BASE}",
        "FLOWDESK_LDAP_ROLE_MAP": json.dumps(ROLE_MAP),
    }
    for name, value in ldap_settings(env).items():
        setattr(settings, name, value)
    local = settings.AUTHENTICATION_BACKENDS.index("django.contrib.auth.backends.ModelBackend")
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS[:local],
        LDAP_BACKEND,
        *settings.AUTHENTICATION_BACKENDS[local:],
    ]

    def login(username: str, password: str) -> Client:
        client = Client()
        client.post("/accounts/login/", {"username": username, "password": password})
        return client

    return login


def memberships(username: str) -> set[tuple[str, str | None]]:
    rows = RoleMembership.objects.filter(user__username=username)
    return set(rows.values_list("role__key", "business__key"))


pytestmark = pytest.mark.django_db


def test_ldap_user_signs_in_with_profile_and_mapped_roles(ldap_login):
    client = ldap_login("lara", PASSWORD)
    assert client.get("/").status_code == 200  # signed in: the workbench, not the login page
    user = get_user_model().objects.get(username="lara")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.session["_auth_user_backend"] == LDAP_BACKEND
    assert (user.email, get_profile(user).display_name) == ("lara@example.org", "Lara (QC, ops A)")
    assert not user.has_usable_password()  # no local password to guess
    assert memberships("lara") == {("QC", None), ("ops", "game-a")}
    assert not is_flowdesk_admin(user)


def test_admin_group_gives_the_admin_permission(ldap_login):
    client = ldap_login("max", PASSWORD)
    user = get_user_model().objects.get(username="max")
    assert Group.objects.filter(name=FLOWDESK_ADMINS, user=user).exists()
    assert client.get("/manage/users/").status_code == 200
    assert memberships("max") == {("test", "game-b")}


def test_map_is_authoritative_for_the_roles_it_names_only(ldap_login):
    ldap_login("lara", PASSWORD)
    lara = get_user_model().objects.get(username="lara")
    dev, test = Role.objects.get(key="dev"), Role.objects.get(key="test")
    game_b = Business.objects.get(key="game-b")
    do_add_role_member(dev, lara, business=game_b, actor=None)  # given by hand, not mapped
    do_add_role_member(test, lara, business=game_b, actor=None)  # mapped; lara is not in it
    ldap_login("lara", PASSWORD)
    assert memberships("lara") == {("QC", None), ("ops", "game-a"), ("dev", "game-b")}


def test_wrong_password_and_unknown_user_fail(ldap_login):
    for username, password in (("lara", "wrong"), ("nobody-there", PASSWORD)):
        client = ldap_login(username, password)
        assert "_auth_user_id" not in client.session
        assert client.get("/").status_code == 302
    assert not get_user_model().objects.filter(username="nobody-there").exists()


def test_local_accounts_keep_working(ldap_login):
    client = ldap_login("pm_alice", "pw-for-tests")
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
