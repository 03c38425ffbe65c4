"""The demo's DPoP-bound CLI: the proof script its walkthrough prints really makes proofs the service accepts."""

import subprocess
import sys

import pytest

from app.demo import create_demo
from tests.dpop_proofs import TOKEN_URL, USERINFO_URL
from tests.helpers import TOKEN_PATH, USERINFO_PATH, get_code, sign_in


@pytest.fixture
def demo(services):
    return create_demo(services.database, services.clock, services.config)


@pytest.fixture
def proof_script(demo, tmp_path):
    """The script exactly as the walkthrough's heredoc writes it; run(args) runs it in its own directory."""
    heredoc = next(line for line in demo["walkthrough"]["dpop_cli"] if line.startswith("cat > dpop_proof.py"))
    (tmp_path / "dpop_proof.py").write_text(heredoc.split("\n", 1)[1].rsplit("EOF", 1)[0])

    def run(*args):
        done = subprocess.run([sys.executable, "dpop_proof.py", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()
    return run


def test_the_walkthroughs_proofs_bind_the_code_the_tokens_and_work_at_userinfo(http, demo, proof_script):
    cli = demo["clients"]["dpop_cli"]
    assert cli["require_dpop"] is True
    lines = demo["walkthrough"]["dpop_cli"]
    verifier = next(part for line in lines for part in line.split() if part.startswith("code_verifier="))
    verifier = verifier.split("=", 1)[1]
    sign_in(http, demo["user"]["email"], demo["user"]["password"])
    authorization = get_code(http, cli, pkce=False, scope="openid email offline_access", dpop_jkt=proof_script("jkt"),
                             **_challenge(lines))
    form = {"grant_type": "authorization_code", "client_id": cli["client_id"], "code": authorization.code,
            "redirect_uri": authorization.redirect_uri, "code_verifier": verifier}
    assert http.post(TOKEN_PATH, form, status=400).json["error"] == "invalid_dpop_proof"
    tokens = http.post(TOKEN_PATH, form, headers={"DPoP": proof_script("POST", TOKEN_URL)}).json
    assert tokens["token_type"] == "DPoP"
    refreshed = http.post(TOKEN_PATH, {"grant_type": "refresh_token", "client_id": cli["client_id"],
                                       "refresh_token": tokens["refresh_token"]},
                          headers={"DPoP": proof_script("POST", TOKEN_URL)}).json
    token = refreshed["access_token"]
    claims = http.get(USERINFO_PATH, headers={"Authorization": "DPoP " + token,
                                              "DPoP": proof_script("GET", USERINFO_URL, token)}).json
    assert claims["email"] == demo["user"]["email"]


def _challenge(lines):
    """The code_challenge of the walkthrough's authorize URL (it goes with the printed code_verifier)."""
    url = next(line for line in lines if "/authorize?" in line)
    challenge = url.split("code_challenge=", 1)[1].split("&", 1)[0]
    return {"code_challenge": challenge, "code_challenge_method": "S256"}
