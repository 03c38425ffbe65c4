"""The shipped deployment files: the README shows deploy/nginx.conf as it is, and Debian's nginx loads it."""

import re
import shutil
import subprocess

from tests.live import ROOT
from tests.test_nginx import NGINX, adapt, self_signed_certificate

CONFIG = ROOT / "deploy" / "nginx.conf"


def test_the_readme_shows_the_shipped_nginx_config_unchanged():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", readme, re.DOTALL)
    assert blocks == [CONFIG.read_text()]


def test_debians_nginx_loads_the_shipped_config(tmp_path):
    """`nginx -t` with the config changed only in its ports and paths (the certificate is made here).

    nginx is a test requirement (bin/test and .ci/run install Debian's): without it this fails, not skips.
    """
    assert shutil.which("nginx") or shutil.which(NGINX), "nginx is not installed: apt-get install nginx"
    certificate, key = self_signed_certificate(tmp_path)
    site = adapt(CONFIG.read_text(), 8443, 8080, certificate, key, ["127.0.0.1:8000"])
    (tmp_path / "site.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"{kind}_temp_path {tmp_path / kind}; " for kind in kinds)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'}; events {{}}\n"
        f"http {{ access_log off; {temp}include {tmp_path / 'site.conf'}; }}\n")
    result = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "warn" not in result.stderr, result.stderr
