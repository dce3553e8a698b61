#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub on 127.0.0.1, for tests (standard library only).

It answers the `resolve` route as the hub does for a file in git LFS: a 302 to a CDN with
X-Repo-Commit, X-Linked-Etag (the SHA-256) and X-Linked-Size; the CDN, a second server on another
port (another origin, as the hub's CDN is another host), serves the bytes with Range support.
Unknown repositories, revisions and files get the hub's error headers.

    fake_hub.py --file OWNER/REPO/PATH=LOCAL_FILE [--file ...] [--git-file OWNER/REPO/PATH=LOCAL_FILE]
                [--cut-after N] [--corrupt] [--chunk-delay S] [--require-token T]

--git-file serves a file kept in git (not LFS): the resolve route answers 200 itself, with the
git blob id as ETag.

Prints "fake hub listening on http://127.0.0.1:PORT (CDN http://127.0.0.1:PORT2)" (ephemeral
ports) once both accept connections. GET /_control/requests on the hub returns the requests both
served so far (JSON; not counted).
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", action="append", default=[], help="OWNER/REPO/PATH=LOCAL_FILE (in git LFS)")
    p.add_argument("--git-file", action="append", default=[], help="OWNER/REPO/PATH=LOCAL_FILE (in git)")
    p.add_argument("--cut-after", type=int, default=None,
                   help="the first full-body CDN GET sends only this many bytes, then drops the connection")
    p.add_argument("--cut-times", type=int, default=1, help="how many GETs are cut (default 1)")
    p.add_argument("--corrupt", action="store_true", help="serve bytes whose SHA-256 differs from the announced one")
    p.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between 16 KiB chunks of a body")
    p.add_argument("--require-token", default=None, help="answer 401 RepoNotFound without 'Bearer TOKEN'")
    return p.parse_args()


class Hub:
    def __init__(self, args):
        self.args = args
        self.files = {}  # (repo, path) -> bytes
        self.git_files = set()  # (repo, path) kept in git, not LFS
        for spec, in_git in [(s, False) for s in args.file] + [(s, True) for s in args.git_file]:
            remote, local = spec.split("=", 1)
            owner, name, path = remote.split("/", 2)
            with open(local, "rb") as f:
                self.files[(f"{owner}/{name}", path)] = f.read()
            if in_git:
                self.git_files.add((f"{owner}/{name}", path))
        self.blobs = {hashlib.sha256(b).hexdigest(): b for b in self.files.values()}
        self.requests = []
        self.lock = threading.Lock()
        self.cuts_left = args.cut_times if args.cut_after is not None else 0

    def commit(self, repo):
        return hashlib.sha1(f"fake-hub commit of {repo}".encode()).hexdigest()

    def repos(self):
        return {repo for repo, _ in self.files}


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-hub/1"

    def log_message(self, *a):
        pass

    @property
    def hub(self):
        return self.server.hub

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def send(self, status, headers, body=b"", head=False):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def handle_any(self, head):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_control/requests":
            with self.hub.lock:
                body = json.dumps(self.hub.requests).encode()
            return self.send(200, {"Content-Type": "application/json"}, body, head)
        with self.hub.lock:
            self.hub.requests.append({"server": self.server.role, "method": self.command, "path": path,
                                      "range": self.headers.get("Range"),
                                      "authorization": self.headers.get("Authorization")})
        parts = path.lstrip("/").split("/")
        if self.server.role == "hub" and len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve(parts, head)
        if self.server.role == "cdn" and len(parts) >= 2 and parts[0] == "cdn":
            return self.cdn(parts[1], head)
        self.send(404, {"X-Error-Message": "not a hub route"}, b"not found", head)

    def resolve(self, parts, head):
        hub = self.hub
        repo = f"{parts[0]}/{parts[1]}"
        revision = urllib.parse.unquote(parts[3])
        file = urllib.parse.unquote("/".join(parts[4:]))
        token = hub.args.require_token
        if repo not in hub.repos() or (token and self.headers.get("Authorization") != f"Bearer {token}"):
            # The hub answers 401 for a repository that does not exist or is private.
            return self.send(401, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"}, b"", head)
        commit = hub.commit(repo)
        if revision not in ("main", commit):
            return self.send(404, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"}, b"", head)
        data = hub.files.get((repo, file))
        if data is None:
            return self.send(404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                                   "X-Repo-Commit": commit}, b"", head)
        if (repo, file) in hub.git_files:
            # git's blob id: SHA-1 of "blob <size>\0" + content.
            blob_id = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            return self.body(data, {"X-Repo-Commit": commit, "ETag": f'"{blob_id}"'}, head, allow_cut=False)
        sha = hashlib.sha256(data).hexdigest()
        name = urllib.parse.quote(file.split("/")[-1])
        self.send(302, {
            "Location": f"{hub.cdn_url}/cdn/{sha}/{name}",
            "X-Repo-Commit": commit,
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(data)),
            # The git object of the LFS pointer file, as the hub sends in ETag.
            "ETag": '"%s"' % hashlib.sha1(f"pointer {sha}".encode()).hexdigest(),
        }, b"", head)

    def cdn(self, sha, head):
        hub = self.hub
        data = hub.blobs.get(sha)
        if data is None:
            return self.send(404, {}, b"no such object", head)
        if hub.args.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        self.body(data, {"ETag": f'"{sha}"'}, head, allow_cut=True)

    def body(self, data, extra_headers, head, allow_cut):
        hub = self.hub
        start, end, status = 0, len(data) - 1, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, _, last = rng[len("bytes="):].partition("-")
            start = int(first) if first else 0
            end = min(int(last), len(data) - 1) if last else len(data) - 1
            if start >= len(data):
                return self.send(416, {"Content-Range": f"bytes */{len(data)}"}, b"", head)
            status = 206
        body = data[start:end + 1]
        headers = {"Content-Length": str(len(body)), "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   **extra_headers}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        cut = None
        if allow_cut and not head and status == 200:
            with hub.lock:
                if hub.cuts_left > 0:
                    hub.cuts_left -= 1
                    cut = hub.args.cut_after
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        if cut is not None:
            # Announce the whole body, send part of it, drop the connection.
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        step = 16 * 1024
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            if hub.args.chunk_delay:
                self.wfile.flush()
                time.sleep(hub.args.chunk_delay)


def main():
    args = parse_args()
    hub = Hub(args)
    servers = {}
    for role in ("hub", "cdn"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.hub = hub
        server.role = role
        servers[role] = server
    hub.cdn_url = f"http://127.0.0.1:{servers['cdn'].server_address[1]}"
    threading.Thread(target=servers["cdn"].serve_forever, daemon=True).start()
    print(f"fake hub listening on http://127.0.0.1:{servers['hub'].server_address[1]} (CDN {hub.cdn_url})", flush=True)
    try:
        servers["hub"].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
