"""The package's promises about itself: what it imports, what it exports, and that
PROTOCOL.md stays in step with the code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from dreamd import protocol
from dreamd.protocol import PARAM_NAMES, ErrorCode, PingRequest, Pong, encode_reply, encode_request

PACKAGE = Path(protocol.__file__).parent
SPEC = (PACKAGE / "PROTOCOL.md").read_text(encoding="utf-8")
ALLOWED = {"zmq", "msgpack", "__future__"}


def test_imports_only_stdlib_pyzmq_msgpack() -> None:
    for source in PACKAGE.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, (source.name, name)


def test_import_pulls_in_no_heavy_modules() -> None:
    code = (
        "import sys; from dreamd import protocol; "
        "bad = [m for m in ('numpy', 'torch', 'PIL', 'dreamd.engine') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_public_names_exist_and_are_documented() -> None:
    for name in protocol.__all__:
        value = getattr(protocol, name)
        if (callable(value) and not name[0].isupper()) or isinstance(value, type):
            assert getattr(value, "__doc__", None), f"{name} has no docstring"


def test_spec_names_every_error_code_and_param() -> None:
    for code in ErrorCode:
        assert f"`{code.value}`" in SPEC, code
    for name in PARAM_NAMES:
        assert f"| `{name}` |" in SPEC, name


def _hex_after(caption: str) -> bytes:
    block = SPEC.split(caption, 1)[1].split("```", 2)[1]
    return bytes.fromhex(" ".join(re.findall(r"\b[0-9a-f]{2}\b", block)))


def test_spec_byte_examples_match_the_encoder() -> None:
    assert encode_request(PingRequest("p1"))[0] == _hex_after('"id":"p1"}` is')
    assert encode_reply(Pong("p1"), server="dreamd 0.1.0")[0] == _hex_after(
        '"server":"dreamd 0.1.0"}` is'
    )
