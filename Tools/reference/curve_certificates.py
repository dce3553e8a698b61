"""CurveZMQ certificate fixtures from pyzmq's zmq.auth (the format czmq and pyzmq share).

Run by hand, never by CI, from the repository root:
    python3 -m venv ../venv-security && ../venv-security/bin/pip install pyzmq
    ../venv-security/bin/python Tools/reference/curve_certificates.py
writes Tests/Fixtures/curve/: pyzmq-peer.key and pyzmq-peer.key_secret (zmq.auth.create_certificates),
and expected.json (the keys as zmq.auth.load_certificate reads them back, and the public key
libzmq derives from the secret). CurveCertificateTests read these with the Swift parser.

    ../venv-security/bin/python Tools/reference/curve_certificates.py --check DIR NAME
reads DIR/NAME.key and DIR/NAME.key_secret made by `winclip-coord keygen` with pyzmq, checks
that the secret file's public key is the one libzmq derives, and that a pyzmq CURVE client and
server using them complete a handshake on 127.0.0.1.
"""
import argparse
import json
import os
import sys

import zmq
import zmq.auth

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "curve")


def write_fixtures():
    os.makedirs(OUT, exist_ok=True)
    for suffix in (".key", ".key_secret"):
        path = os.path.join(OUT, "pyzmq-peer" + suffix)
        if os.path.exists(path):
            os.remove(path)
    public_file, secret_file = zmq.auth.create_certificates(OUT, "pyzmq-peer", metadata={"name": "pyzmq-peer"})
    public, _ = zmq.auth.load_certificate(public_file)
    public2, secret = zmq.auth.load_certificate(secret_file)
    assert public == public2
    expected = {
        "public_key": public.decode(),
        "secret_key": secret.decode(),
        "derived_public_key": zmq.curve_public(secret).decode(),
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote", public_file, secret_file)


def check(directory, name):
    public, none = zmq.auth.load_certificate(os.path.join(directory, name + ".key"))
    assert none is None, "a public certificate holds no secret key"
    public2, secret = zmq.auth.load_certificate(os.path.join(directory, name + ".key_secret"))
    assert public == public2, "public keys of the two files differ"
    assert zmq.curve_public(secret) == public, "the public key is not derived from the secret key"
    mode = os.stat(os.path.join(directory, name + ".key_secret")).st_mode & 0o777
    assert mode == 0o600, "secret file mode %o" % mode
    ctx = zmq.Context()
    server = ctx.socket(zmq.REP)
    server.curve_server = True
    server.curve_secretkey = secret
    server.curve_publickey = public
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client = ctx.socket(zmq.REQ)
    client_public, client_secret = zmq.curve_keypair()
    client.curve_serverkey = public
    client.curve_publickey = client_public
    client.curve_secretkey = client_secret
    client.connect("tcp://127.0.0.1:%d" % port)
    client.send(b"ping")
    assert server.poll(5000), "no CURVE handshake within 5 s"
    assert server.recv() == b"ping"
    server.send(b"pong")
    assert client.recv() == b"pong"
    ctx.destroy(linger=0)
    print("pyzmq reads %s and a CURVE handshake with it succeeds" % name)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", nargs=2, metavar=("DIR", "NAME"))
    args = ap.parse_args()
    if args.check:
        check(*args.check)
    else:
        write_fixtures()
