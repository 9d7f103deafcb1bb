"""`python -m xlt.doctor`: a table with versions and whether each language runs."""

from xlt import doctor
from xlt.execution.toolchains import resolve
from xlt.languages import LANGUAGES


def test_doctor_reports_present_and_missing_toolchains(capsys):
    missing = next((code for code in LANGUAGES if not resolve(LANGUAGES[code]).present), None)
    codes = ["py", "sh"] + ([missing] if missing else [])
    status = doctor.main(codes)
    out = capsys.readouterr().out
    assert status == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.split()}
    assert "yes" in lines["py"] and "Python 3" in lines["py"]
    assert "yes" in lines["sh"] and "bash" in lines["sh"]
    if missing:
        assert "toolchain_missing" in lines[missing] and "missing:" in lines[missing]
    assert "network:" in out and "uid:" in out
