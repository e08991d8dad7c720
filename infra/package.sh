#!/usr/bin/env bash
# Builds the deployable artifacts exactly as `sam build` does for `sam deploy`, checks there is
# one `bootstrap` per function, and prints each function's size: the stripped binary and the zip
# Lambda receives.
#
#   infra/package.sh            # x86_64
#   infra/package.sh arm64      # the stack's default architecture (adds the Rust target
#                               # aarch64-unknown-linux-gnu with rustup if it is missing)
#
# Installs what it needs into a virtualenv of its own (.venv/package, or $DESKMATE_PACKAGE_VENV)
# from PyPI: the SAM CLI, cargo-lambda, and zig (the `ziglang` package), which cargo-lambda links
# with so the binaries need no newer glibc than Lambda's provided.al2023 has. The SAM CLI pins
# its own boto3, pydantic and cfn-lint, so it is kept apart from the test suite's .venv.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
arch=${1:-x86_64}
venv=${DESKMATE_PACKAGE_VENV:-$root/.venv/package}

case "$arch" in
  x86_64) rust_target=x86_64-unknown-linux-gnu ;;
  arm64) rust_target=aarch64-unknown-linux-gnu ;;
  *) echo "usage: infra/package.sh [x86_64|arm64]" >&2; exit 2 ;;
esac

if ! "$venv/bin/python" -c 'import ziglang' >/dev/null 2>&1 \
  || [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cargo-lambda" ]; then
  echo "==> installing the SAM CLI, cargo-lambda and zig into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "aws-sam-cli>=1.140,<2" "cargo-lambda>=1.8,<2" "ziglang>=0.13,<0.18"
fi

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$rust_target"; then
  echo "==> rustup target add $rust_target"
  if ! rustup target add "$rust_target"; then
    echo "the Rust target $rust_target is not installed and rustup could not fetch it" >&2
    exit 1
  fi
fi

# sam finds cargo-lambda on PATH; cargo-lambda finds zig as `python3 -m ziglang`.
export PATH="$venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
# The Rust build method is a SAM CLI beta feature; this opts in without a prompt.
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1

echo "==> $(sam --version), $(cargo-lambda lambda --version), zig $(python3 -m ziglang version)"
echo "==> sam build --parameter-overrides Architecture=$arch (release profile: LTO, one codegen unit)"
started=$SECONDS
# Lower priority: a release build with LTO takes both cores for a long while.
nice -n 10 sam build --parameter-overrides "Architecture=$arch"
echo "==> built in $((SECONDS - started)) s"

# One bootstrap per function, for the right CPU, and its sizes.
"$venv/bin/python" - "$arch" <<'PY'
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

arch = sys.argv[1]
machine = {"x86_64": 0x3E, "arm64": 0xB7}[arch]
template = yaml_parse(Path("template.yaml").read_text())
functions = {
    name: resource["Metadata"]["BuildProperties"]["Binary"]
    for name, resource in template["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def elf_info(data: bytes) -> tuple[int, bool]:
    """The ELF machine and whether a symbol table is left (64-bit little-endian only)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit("not a 64-bit little-endian ELF file")
    e_machine = int.from_bytes(data[18:20], "little")
    shoff = int.from_bytes(data[40:48], "little")
    shentsize = int.from_bytes(data[58:60], "little")
    shnum = int.from_bytes(data[60:62], "little")
    types = [
        int.from_bytes(data[shoff + i * shentsize + 4 : shoff + i * shentsize + 8], "little")
        for i in range(shnum)
    ]
    return e_machine, 2 in types  # SHT_SYMTAB


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MiB"


rows, problems = [], []
for name, binary in functions.items():
    bootstrap = Path(".aws-sam/build") / name / "bootstrap"
    if not bootstrap.is_file():
        problems.append(f"{name}: no {bootstrap}")
        continue
    data = bootstrap.read_bytes()
    e_machine, has_symtab = elf_info(data)
    if e_machine != machine:
        problems.append(f"{name}: {bootstrap} is not an {arch} binary (ELF machine {e_machine:#x})")
    stripped = len(data)
    if has_symtab:
        # The release profile strips; if a symbol table is left anyway, measure a stripped copy.
        strip = shutil.which("llvm-strip") or shutil.which("strip")
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "bootstrap"
            subprocess.run([strip, "-o", str(copy), str(bootstrap)], check=True)
            stripped = copy.stat().st_size
    # The archive Lambda gets: bootstrap alone, executable, deflated.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zipped.writestr(info, data)
    zipped_size = len(archive.getvalue())
    if zipped_size > 50 * 1024 * 1024:
        problems.append(f"{name}: the zip is over Lambda's 50 MB direct-upload limit")
    rows.append((name, binary, stripped, zipped_size, "yes" if has_symtab else "no"))

print()
print(f"{'function':<30} {'binary':<22} {'stripped':>12} {'zipped':>12}  symbols left")
for name, binary, stripped, zipped_size, symbols in rows:
    print(f"{name:<30} {binary:<22} {mib(stripped):>12} {mib(zipped_size):>12}  {symbols}")
if rows:
    print(f"{'total':<30} {'':<22} {mib(sum(r[2] for r in rows)):>12} {mib(sum(r[3] for r in rows)):>12}")
for problem in problems:
    print("PROBLEM:", problem, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"\n{len(rows)} functions, one {arch} bootstrap each under .aws-sam/build/<Function>/")
PY
