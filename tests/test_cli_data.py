import os
import subprocess
import sys


def test_data_verify_reports_shared_files_verified(shared_data):
    shared_data("majajhong2015_slice25.nc")
    out = subprocess.run([sys.executable, "-m", "neurobridge.cli", "data", "verify"], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("majajhong2015_slice25/assembly", "hvm/metadata", "mnist/train-images", "mnist/test-labels"):
        assert any(line.startswith("verified") and name in line for line in out.stdout.splitlines()), name
    assert "0 failed" in out.stdout
