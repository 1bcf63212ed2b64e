"""Uploading a large recording: memory of the server, and an interrupted upload resumed.

    python bench/upload.py [--gigabytes 1] [--chunk-mb 16]

Makes a WAV file of the given size (silence, so it is valid media that probes quickly),
starts ``recall serve --no-worker`` (waitress) in its own process, and uploads the file over
tus in chunks with an API token. Halfway it is interrupted twice: a chunk is cut off mid-way
(the client's connection drops), and then the server is killed with SIGKILL and started
again; each time the client asks where the upload stands and goes on from there. The upload
must finish with the stored file identical to the original, and the server's peak memory
(VmHWM) must stay under 300 MB. Baselines from the same run: the server's memory when idle,
and a plain file copy on the same disk.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import free_port  # noqa: E402

MEMORY_LIMIT_MB = 300


def make_wav(path: Path, size: int) -> None:
    """A silent 16 kHz mono WAV of ``size`` bytes, written in pieces."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        block = bytes(1 << 20)
        left = size - 44
        while left > 0:
            piece = block[: min(len(block), left)]
            w.writeframes(piece)
            left -= len(piece)


def recall_command() -> list[str]:
    script = Path(sys.executable).with_name("recall")
    return [str(script)] if script.exists() else [sys.executable, "-m", "web"]


def add_account(config_file: Path) -> str:
    done = subprocess.run(
        [*recall_command(), "--config", str(config_file), "user", "add", "bench@example.org",
         "--role", "staff", "--password-stdin"],
        input="a long enough passphrase\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


class Server:
    def __init__(self, config_file: Path, port: int) -> None:
        self.config_file = config_file
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.peaks_mb: list[float] = []

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*recall_command(), "--config", str(self.config_file), "serve", "--no-worker",
             "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def memory_mb(self, field: str = "VmHWM") -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(field)

    def kill(self) -> None:
        assert self.proc is not None
        self.peaks_mb.append(self.memory_mb())
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        assert self.proc is not None
        self.peaks_mb.append(self.memory_mb())
        self.proc.terminate()
        self.proc.wait(timeout=30)


class TusClient:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}

    def _request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(method, url, body=body, headers={**self.headers, **headers})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def create(self, length: int, filename: str) -> str:
        meta = "filename " + base64.b64encode(filename.encode()).decode()
        response = self._request(
            "POST", "/api/uploads", {"Upload-Length": str(length), "Upload-Metadata": meta}
        )
        assert response.status == 201, response.status
        return str(response.headers["Location"])

    def offset(self, url: str) -> int:
        response = self._request("HEAD", url, {})
        assert response.status == 200, response.status
        return int(response.headers["Upload-Offset"])

    def send(self, url: str, offset: int, data: bytes) -> http.client.HTTPResponse:
        return self._request(
            "PATCH",
            url,
            {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            data,
        )

    def cut_off(self, url: str, offset: int, data: bytes) -> None:
        """Start a chunk and drop the connection after half of it."""
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            head = (
                f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
                + f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            )
            s.sendall(head.encode() + data[: len(data) // 2])


def upload_interrupted(
    server: Server, client: TusClient, path: Path, chunk: int
) -> tuple[str, dict[str, float]]:
    """Upload ``path``, cut off once and with a server kill halfway; returns the recording id
    and timings."""
    size = path.stat().st_size
    started = time.perf_counter()
    url = client.create(size, path.name)
    interrupted = killed = False
    with path.open("rb") as f:
        offset = 0
        while True:
            f.seek(offset)
            data = f.read(chunk)
            if not interrupted and offset >= size // 3:
                client.cut_off(url, offset, data)
                interrupted = True
                offset = client.offset(url)
                continue
            if not killed and offset >= size // 2:
                server.kill()
                server.start()
                killed = True
                offset = client.offset(url)
                continue
            response = client.send(url, offset, data)
            assert response.status == 204, response.status
            if response.headers.get("Recall-Recording"):
                return response.headers["Recall-Recording"], {
                    "seconds": time.perf_counter() - started
                }
            offset = int(response.headers["Upload-Offset"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def run(folder: Path, size: int, chunk: int) -> dict[str, float]:
    """The whole benchmark in ``folder``; returns its figures."""
    config_file = folder / "config.toml"
    config_file.write_text('[library]\ndata_dir = "var"\n')
    source = folder / "big.wav"
    make_wav(source, size)
    token = add_account(config_file)

    copy_started = time.perf_counter()
    shutil.copyfile(source, folder / "copy.wav")
    copy_seconds = time.perf_counter() - copy_started
    (folder / "copy.wav").unlink()

    server = Server(config_file, free_port())
    server.start()
    idle_mb = server.memory_mb("VmRSS")
    client = TusClient(server.port, token)
    recording_id, timing = upload_interrupted(server, client, source, chunk)
    server.stop()
    stored = next((folder / "var" / "media" / recording_id).glob("source.*"))
    return {
        "size_mb": size / 1e6,
        "upload_seconds": timing["seconds"],
        "copy_seconds": copy_seconds,
        "idle_mb": idle_mb,
        "peak_mb": max(server.peaks_mb),
        "identical": float(sha256(stored) == sha256(source)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--chunk-mb", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recall-upload-") as tmp:
        figures = run(Path(tmp), int(args.gigabytes * 1e9), args.chunk_mb << 20)
    rate = figures["size_mb"] / figures["upload_seconds"]
    copy_rate = figures["size_mb"] / figures["copy_seconds"]
    print(f"upload of {figures['size_mb']:,.0f} MB, cut off once and the server killed once:")
    print(f"  {figures['upload_seconds']:.1f} s, {rate:,.0f} MB/s "
          f"({rate / copy_rate:.2f}x a plain copy here: {copy_rate:,.0f} MB/s)")  # fmt: skip
    print(f"  server memory: idle {figures['idle_mb']:.0f} MB, peak {figures['peak_mb']:.0f} MB "
          f"({figures['peak_mb'] / figures['idle_mb']:.2f}x idle; "
          f"limit {MEMORY_LIMIT_MB} MB: {figures['peak_mb'] / MEMORY_LIMIT_MB:.2f}x)")  # fmt: skip
    print(f"  stored file identical to the original: {bool(figures['identical'])}")
    assert figures["identical"], "the stored file differs from the original"
    assert figures["peak_mb"] < MEMORY_LIMIT_MB, f"peak {figures['peak_mb']:.0f} MB"


if __name__ == "__main__":
    main()
